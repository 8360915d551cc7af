package main

import "context"

// background runs f until the gateway closes.
func (g *gateway) background(f func(context.Context)) {
	g.wg.Go(func() { f(g.bg) })
}
