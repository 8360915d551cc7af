package auth

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestHashKeyIsSHA256Hex(t *testing.T) {
	tests := []struct{ key, want string }{
		{"", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		if got := HashKey(tt.key); got != tt.want {
			t.Errorf("HashKey(%q) = %s, want %s", tt.key, got, tt.want)
		}
		if _, err := parseHash(HashKey(tt.key)); err != nil {
			t.Errorf("parseHash(HashKey(%q)): %v", tt.key, err)
		}
	}
}

func TestValidateNamesTheEntryAndHidesTheHash(t *testing.T) {
	good := HashKey("k1")
	hexPart := strings.TrimPrefix(good, "sha256:")
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" for valid
	}{
		{"one api key is valid", Config{APIKeys: []APIKey{{Name: "lab", Hash: good, Scopes: []string{ScopeHL7Write}}}}, ""},
		{"an upper-case hex hash is valid", Config{APIKeys: []APIKey{{Name: "lab", Hash: "sha256:" + strings.ToUpper(hexPart)}}}, ""},
		{"nothing configured is an error", Config{}, "no API keys and no JWT"},
		{"an api key file alone is valid", Config{APIKeysFile: "keys"}, ""},
		{"a negative key file reload interval is an error", Config{APIKeysFile: "keys", APIKeysReloadInterval: -time.Second}, "reload interval must be positive"},
		{"a hash without the prefix names the key", Config{APIKeys: []APIKey{{Name: "lab", Hash: hexPart}}}, `api key "lab": hash must start`},
		{"an md5 prefix names the key", Config{APIKeys: []APIKey{{Name: "lab", Hash: "md5:" + hexPart}}}, `api key "lab": hash must start`},
		{"a short hash names the key", Config{APIKeys: []APIKey{{Name: "lab", Hash: good[:40]}}}, `api key "lab": hash must have 64 hex digits`},
		{"a non-hex hash names the key", Config{APIKeys: []APIKey{{Name: "lab", Hash: good[:69] + "zz"}}}, `api key "lab": hash has a character`},
		{"an unnamed key is numbered", Config{APIKeys: []APIKey{{Name: "a", Hash: good}, {Hash: HashKey("k2")}}}, "api key #2: name is empty"},
		{"a name used twice is an error", Config{APIKeys: []APIKey{{Name: "a", Hash: good}, {Name: "a", Hash: HashKey("k2")}}}, `api key "a": name used twice`},
		{"one hash for two names is an error", Config{APIKeys: []APIKey{{Name: "a", Hash: good}, {Name: "b", Hash: good}}}, `api key "b": same hash as api key "a"`},
		{"a scope with a space is an error", Config{APIKeys: []APIKey{{Name: "a", Hash: good, Scopes: []string{"hl7:write fhir:write"}}}}, `api key "a": scope`},
		{"a realm with a quote is an error", Config{Realm: `a"b`, APIKeys: []APIKey{{Name: "a", Hash: good}}}, "realm"},
		{"jwt without a jwks is an error", Config{JWT: &JWTConfig{Issuer: "i", Audience: "a"}}, "jwt: one of jwks file and jwks url"},
		{"jwt with file and url is an error", Config{JWT: &JWTConfig{JWKSFile: "f", JWKSURL: "https://x/j", Issuer: "i", Audience: "a"}}, "exclusive"},
		{"jwt without issuer is an error", Config{JWT: &JWTConfig{JWKSFile: "f", Audience: "a"}}, "issuer is required"},
		{"jwt without audience is an error", Config{JWT: &JWTConfig{JWKSFile: "f", Issuer: "i"}}, "audience is required"},
		{"a jwks url that is not http is an error", Config{JWT: &JWTConfig{JWKSURL: "file:///etc/jwks", Issuer: "i", Audience: "a"}}, "http or https"},
		{"a negative leeway is an error", Config{JWT: &JWTConfig{JWKSFile: "f", Issuer: "i", Audience: "a", Leeway: -time.Second}}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), hexPart[:16]) || strings.Contains(strings.ToLower(err.Error()), hexPart[:16]) {
				t.Fatalf("error %q echoes the hash", err)
			}
		})
	}
}

func TestAPIKeys(t *testing.T) {
	a, err := New(context.Background(), Config{APIKeys: []APIKey{
		{Name: "lab-feed", Hash: HashKey("lab-secret-0123456789"), Scopes: []string{ScopeHL7Write}},
		{Name: "ops", Hash: HashKey("ops-secret-0123456789"), Scopes: []string{ScopeAdmin, ScopeFHIRWrite}},
	}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		authorization string
		scope         string
		wantName      string
		wantErr       Kind
	}{
		{"a known key with its scope is accepted", "Bearer lab-secret-0123456789", ScopeHL7Write, "lab-feed", 0},
		{"the scheme is case-insensitive", "bearer ops-secret-0123456789", ScopeAdmin, "ops", 0},
		{"the empty scope needs only a known key", "Bearer lab-secret-0123456789", "", "lab-feed", 0},
		{"a known key without the scope is InsufficientScope", "Bearer lab-secret-0123456789", ScopeFHIRWrite, "lab-feed", InsufficientScope},
		{"admin does not imply hl7:write", "Bearer ops-secret-0123456789", ScopeHL7Write, "ops", InsufficientScope},
		{"a wrong key is Invalid", "Bearer lab-secret-0123456788", "", "", Invalid},
		{"a key differing in case is Invalid", "Bearer LAB-SECRET-0123456789", "", "", Invalid},
		{"the hash itself is not a key", "Bearer " + HashKey("lab-secret-0123456789"), "", "", Invalid},
		{"an empty header is Missing", "", ScopeHL7Write, "", Missing},
		{"Basic is Invalid", "Basic bGFiOnNlY3JldA==", "", "", Invalid},
		{"Bearer without a token is Invalid", "Bearer ", "", "", Invalid},
		{"a token with a space inside is Invalid", "Bearer lab-secret 0123456789", "", "", Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), tt.authorization, tt.scope)
			if tt.wantErr != 0 {
				_, secret, _ := strings.Cut(tt.authorization, " ")
				wantKind(t, err, tt.wantErr, secret)
			} else if err != nil {
				t.Fatal(err)
			}
			if p.Name != tt.wantName || (tt.wantName != "" && p.Kind != KindAPIKey) {
				t.Fatalf("principal %+v, want name %q", p, tt.wantName)
			}
		})
	}
}

func TestNilAuthenticatorAcceptsEverything(t *testing.T) {
	var a *Authenticator
	p, err := a.Authenticate(context.Background(), "", ScopeAdmin)
	if err != nil || p.Name != "" {
		t.Fatalf("nil Authenticate: %+v, %v", p, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	select {
	case <-done:
		t.Fatal("Run on nil returned before its context ended")
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	<-done
}
