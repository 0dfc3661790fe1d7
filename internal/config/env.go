package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyjam/loyaltyjam/internal/sealbox"
)

// env reads typed settings and collects every problem, naming the variable.
type env struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (e *env) fail(name, why string) { e.errs = append(e.errs, fmt.Errorf("%s %s", name, why)) }

func (e *env) raw(name string) (string, bool) {
	v, ok := e.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (e *env) str(name, def string) string {
	if v, ok := e.raw(name); ok {
		return v
	}
	return def
}

// strOrEmpty is str for a setting that an explicitly empty value turns
// off: only an unset variable takes def.
func (e *env) strOrEmpty(name, def string) string {
	if v, ok := e.lookup(name); ok {
		return strings.TrimSpace(v)
	}
	return def
}

func (e *env) secret(name, def string) Secret { return Secret(e.str(name, def)) }

// key reads an optional 32-byte key (hex or base64).
func (e *env) key(name string) []byte {
	v, ok := e.raw(name)
	if !ok {
		return nil
	}
	k, err := sealbox.ParseKey(v)
	if err != nil {
		e.fail(name, "must be 32 bytes written as 64 hex digits or base64 (e.g. openssl rand -hex 32)")
		return nil
	}
	return k
}

func (e *env) oneOf(name, def string, allowed ...string) string {
	v := e.str(name, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	e.fail(name, fmt.Sprintf("must be one of %s, got %q", strings.Join(allowed, ", "), v))
	return def
}

// url reads a required URL whose scheme is one of schemes.
func (e *env) url(name, def string, schemes ...string) string {
	if e.str(name, def) == "" {
		e.fail(name, "is required")
		return ""
	}
	return e.optionalURL(name, def, schemes...)
}

// optionalURL is url for a setting that only some commands need: unset is
// "" (the command that needs it says so), set is checked as url checks it.
func (e *env) optionalURL(name, def string, schemes ...string) string {
	v := e.str(name, def)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil {
		e.fail(name, "is not a valid URL")
		return ""
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return v
		}
	}
	e.fail(name, fmt.Sprintf("must use scheme %s", strings.Join(schemes, " or ")))
	return ""
}

func (e *env) intRange(name string, def, min, max int) int {
	v, ok := e.raw(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		e.fail(name, fmt.Sprintf("must be a whole number from %d to %d, got %q", min, max, v))
		return def
	}
	return n
}

func (e *env) duration(name string, def time.Duration) time.Duration {
	v, ok := e.raw(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.fail(name, fmt.Sprintf("must be a positive duration such as 30s or 5m, got %q", v))
		return def
	}
	return d
}

func (e *env) list(name string, def []string) []string {
	v, ok := e.raw(name)
	if !ok {
		return def
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
