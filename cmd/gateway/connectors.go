package main

import (
	"net"
	"net/http"
	"os"

	"github.com/hl7gw/gateway/connectors"
)

// mountConnectors registers every configured connector (name, type and
// config; secrets are hidden when shown) and serves the Kafka Connect-style
// /connectors REST API on the ops mux m. Pipelines join their connector as
// they are built (addPipeline).
func (g *gateway) mountConnectors(m *http.ServeMux) {
	g.conns = connectors.NewRegistry(workerID(g.cfg.HTTPAddr))
	for _, c := range g.cfg.Connectors {
		g.conns.Register(c.Name, c.Type, c.Config)
	}
	g.shareConnectors()
	h := g.conns.Handler()
	m.Handle("/connectors", h)
	m.Handle("/connectors/", h)
}

// addPipeline makes p a task of the connector name, so that pausing the
// connector pauses it.
func (g *gateway) addPipeline(name string, p connectors.Pausable) {
	if g.conns == nil {
		g.conns = connectors.NewRegistry(workerID(g.cfg.HTTPAddr))
	}
	g.conns.AddPipeline(name, p)
}

// workerID names this gateway as Kafka Connect names a worker: host:port
// of its REST API.
func workerID(httpAddr string) string {
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return httpAddr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}
