// Package cputime tells benchmarks how much CPU the process has used, so
// that they can report throughput per CPU second: a figure that stays
// meaningful on a shared, overloaded machine where wall time does not. It
// is for tests and benchmarks only; nothing on the data path imports it.
package cputime
