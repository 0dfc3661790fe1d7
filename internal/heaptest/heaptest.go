// Package heaptest measures what a call does to the process's heap, for
// tests that bound the memory hostile input can take.
package heaptest

import (
	"runtime"
	"sync"
	"time"
)

// Heap is what a call did to the heap.
type Heap struct {
	// PeakInuse is the highest HeapInuse seen during the call (sampled
	// every millisecond) above the HeapInuse before it.
	PeakInuse int64
	// Alloc is the bytes allocated during the call (TotalAlloc delta).
	Alloc uint64
}

// Measure runs fn and reports its heap use. Run it outside parallel tests:
// the heap is the process's.
func Measure(fn func()) Heap {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	peak := before.HeapInuse
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	peak = max(peak, after.HeapInuse)
	return Heap{PeakInuse: int64(peak) - int64(before.HeapInuse), Alloc: after.TotalAlloc - before.TotalAlloc}
}
