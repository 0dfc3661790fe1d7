package provider

import (
	"errors"
	"fmt"
	"sort"
)

// ErrUnknownProvider: no provider of that name is configured.
var ErrUnknownProvider = errors.New("provider: unknown provider")

// Registry finds a Provider by its name. A reward in the catalog names the
// provider that fulfils it; an operator switches the reward to another
// provider by changing that name, and redemption looks it up here. A
// Registry is built once at start-up and only read afterwards, so it is
// safe for concurrent use.
type Registry struct {
	byName map[string]Provider
}

// NewRegistry returns a registry of ps; two providers of one name are an
// error, as is a provider without a name.
func NewRegistry(ps ...Provider) (*Registry, error) {
	r := &Registry{byName: make(map[string]Provider, len(ps))}
	for _, p := range ps {
		if p == nil {
			return nil, errors.New("provider: nil provider in registry")
		}
		name := p.Name()
		if name == "" {
			return nil, errors.New("provider: a provider without a name")
		}
		if _, dup := r.byName[name]; dup {
			return nil, fmt.Errorf("provider: two providers named %q", name)
		}
		r.byName[name] = p
	}
	return r, nil
}

// Get returns the provider called name, or an error wrapping
// ErrUnknownProvider.
func (r *Registry) Get(name string) (Provider, error) {
	if r != nil {
		if p, ok := r.byName[name]; ok {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownProvider, name)
}

// Names returns the configured providers' names, sorted.
func (r *Registry) Names() []string {
	if r == nil {
		return nil
	}
	out := make([]string, 0, len(r.byName))
	for n := range r.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
