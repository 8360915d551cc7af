package config

import (
	"strings"
	"testing"
	"time"
)

func TestConnectionLimitsAndGRPCLifetimesAreReadFromDottedKeys(t *testing.T) {
	cases := []struct {
		name    string
		typ     string
		keys    map[string]string
		check   func(ConnectorSettings) bool
		wantErr string
	}{
		{"unset limits are left for the gateway to derive", TypeHL7MLLP, nil,
			func(s ConnectorSettings) bool {
				return s.MaxConnections == Derived && s.Edge.MaxConnsPerSource == Derived
			}, ""},
		{"an explicit zero stays unlimited", TypeFHIRREST, map[string]string{"max.connections": "0", "max.connections.per.source": "0"},
			func(s ConnectorSettings) bool { return s.MaxConnections == 0 && s.Edge.MaxConnsPerSource == 0 }, ""},
		{"explicit MLLP limits are kept", TypeHL7MLLP, map[string]string{"mllp.max.connections": "300", "max.connections.per.source": "7"},
			func(s ConnectorSettings) bool { return s.MaxConnections == 300 && s.Edge.MaxConnsPerSource == 7 }, ""},
		{"gRPC lifetimes take durations and milliseconds", TypeGRPC, map[string]string{
			"grpc.stream.idle.timeout": "90s", "grpc.max.connection.idle": "120000",
			"grpc.max.connection.age": "1h", "grpc.max.connection.age.grace": "30s"},
			func(s ConnectorSettings) bool {
				e := s.Edge
				return e.StreamIdleTimeout == 90*time.Second && e.MaxConnIdle == 2*time.Minute && e.MaxConnAge == time.Hour && e.MaxConnAgeGrace == 30*time.Second
			}, ""},
		{"a zero stream idle timeout is refused", TypeGRPC, map[string]string{"grpc.stream.idle.timeout": "0s"}, nil, "config.grpc.stream.idle.timeout"},
		{"a negative limit is refused", TypeGRPC, map[string]string{"max.connections": "-1"}, nil, "config.max.connections"},
		{"gRPC lifetimes do not belong to MLLP", TypeHL7MLLP, map[string]string{"grpc.max.connection.age": "1h"}, nil, "unknown key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			conn := Connector{Name: "x", Type: tc.typ, Config: tc.keys}
			s, err := conn.Settings(c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(s) {
				t.Fatalf("settings %+v, edge %+v", s, s.Edge)
			}
		})
	}
}
