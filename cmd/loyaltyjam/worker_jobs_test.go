package main

import (
	"context"
	"testing"
)

// runJobs must not return while any job is still running after the context
// ends: the worker closes its database and Redis pools right after it.
func TestRunJobsJoinsEveryJob(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	stopping, release := make(chan struct{}), make(chan struct{})
	var quick, slow bool
	jobs := []func(context.Context){
		func(ctx context.Context) { // the slow one first: the old loop ran it in a goroutine
			<-ctx.Done()
			close(stopping)
			<-release // still flushing its last round
			slow = true
		},
		func(ctx context.Context) { <-ctx.Done(); quick = true },
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runJobs(ctx, jobs)
	}()
	cancel()
	<-stopping
	// The slow job is parked on release, so runJobs cannot have returned.
	select {
	case <-done:
		t.Fatal("runJobs returned while a job was still running")
	default:
	}
	close(release)
	<-done
	if !quick || !slow {
		t.Errorf("jobs finished: quick %v, slow %v; want both", quick, slow)
	}
}
