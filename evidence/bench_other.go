//go:build !unix

package evidence

// cpuSeconds is not measured here.
func cpuSeconds() float64 { return 0 }
