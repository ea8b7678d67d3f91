package vault

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// HTTPConfig configures the external vault driver (the vault.http YAML
// section). The wire format is described on [HTTP].
type HTTPConfig struct {
	URL         string        `yaml:"url"`          // base URL; POST <url>/tokenize and <url>/detokenize. https, or http to loopback only
	Timeout     time.Duration `yaml:"timeout"`      // per attempt, including the OAuth2 token fetch; default 5s
	MaxAttempts int           `yaml:"max_attempts"` // attempts per call on 5xx, timeouts and connection errors (never on 4xx); default 3
	BackoffMin  time.Duration `yaml:"backoff_min"`  // delay before the first retry, doubled each time, with jitter; default 100ms
	BackoffMax  time.Duration `yaml:"backoff_max"`  // longest delay between attempts; default 2s
	OAuth2      OAuth2Config  `yaml:"oauth2"`
	TLS         ClientTLS     `yaml:"tls"`
	Breaker     BreakerConfig `yaml:"breaker"`
}

// OAuth2Config is an OAuth2 client-credentials grant. With no token_url, no
// Authorization header is sent.
type OAuth2Config struct {
	TokenURL         string   `yaml:"token_url"`          // e.g. https://idp.example/oauth2/token
	ClientID         string   `yaml:"client_id"`          //
	ClientSecret     string   `yaml:"client_secret"`      // inline secret (prefer client_secret_file)
	ClientSecretFile string   `yaml:"client_secret_file"` // file holding the secret; surrounding whitespace is trimmed
	Scopes           []string `yaml:"scopes"`             //
}

// ClientTLS is the TLS client side: extra trusted CAs and an optional client
// certificate for mutual TLS.
type ClientTLS struct {
	CAFile     string `yaml:"ca_file"`     // PEM CAs trusted in addition to the system's
	CertFile   string `yaml:"cert_file"`   // PEM client certificate (mutual TLS); with key_file
	KeyFile    string `yaml:"key_file"`    // PEM private key of cert_file
	ServerName string `yaml:"server_name"` // overrides the name checked in the server certificate
}

// BreakerConfig sets when the circuit breaker stops calling the vault.
type BreakerConfig struct {
	Failures int           `yaml:"failures"`  // consecutive failed attempts that open it; default 5
	CoolDown time.Duration `yaml:"cool_down"` // how long it stays open before one trial call; default 30s
}

// Defaults of HTTPConfig.
const (
	DefaultHTTPTimeout     = 5 * time.Second
	DefaultMaxAttempts     = 3
	DefaultBackoffMin      = 100 * time.Millisecond
	DefaultBackoffMax      = 2 * time.Second
	DefaultBreakerFailures = 5
	DefaultBreakerCoolDown = 30 * time.Second
)

// Validate fills defaults and checks the configuration without reading files.
func (c *HTTPConfig) Validate() error {
	if err := checkVaultURL(c.URL); err != nil {
		return err
	}
	setDefault(&c.Timeout, DefaultHTTPTimeout)
	setDefault(&c.BackoffMin, DefaultBackoffMin)
	setDefault(&c.BackoffMax, DefaultBackoffMax)
	setDefault(&c.Breaker.CoolDown, DefaultBreakerCoolDown)
	setDefault(&c.MaxAttempts, DefaultMaxAttempts)
	setDefault(&c.Breaker.Failures, DefaultBreakerFailures)
	switch {
	case c.Timeout < 0, c.BackoffMin < 0, c.BackoffMax < 0, c.Breaker.CoolDown < 0:
		return errors.New("vault.http: durations must not be negative")
	case c.MaxAttempts < 1 || c.MaxAttempts > 10:
		return fmt.Errorf("vault.http.max_attempts %d: must be 1 to 10", c.MaxAttempts)
	case c.Breaker.Failures < 1:
		return fmt.Errorf("vault.http.breaker.failures %d: must be at least 1", c.Breaker.Failures)
	case c.BackoffMax < c.BackoffMin:
		return fmt.Errorf("vault.http.backoff_max %s is below backoff_min %s", c.BackoffMax, c.BackoffMin)
	case (c.TLS.CertFile == "") != (c.TLS.KeyFile == ""):
		return errors.New("vault.http.tls: cert_file and key_file go together")
	}
	return c.OAuth2.validate()
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// checkVaultURL checks vault.http.url, which is required.
func checkVaultURL(raw string) error {
	if raw == "" {
		return errors.New("vault.http.url is required")
	}
	if p := urlProblem(raw, "use vault.http.oauth2"); p != "" {
		return errors.New("vault.http.url " + p)
	}
	return nil
}

// urlProblem says what is wrong with a URL card data is sent to, or "". It
// allows https anywhere and plain http to loopback only: card data never
// crosses a network in clear. credentials tells where a secret goes instead
// of the URL.
func urlProblem(raw, credentials string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Sprintf("%q is not an absolute URL", raw)
	}
	if u.User != nil {
		return "must not hold credentials; " + credentials
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
			return ""
		}
		return fmt.Sprintf("%q: plain http is allowed to loopback only; use https", raw)
	default:
		return fmt.Sprintf("%q: scheme must be https", raw)
	}
}

func (o *OAuth2Config) validate() error {
	if o.TokenURL == "" {
		if o.ClientID != "" || o.ClientSecret != "" || o.ClientSecretFile != "" {
			return errors.New("vault.http.oauth2: client_id and secret given without token_url")
		}
		return nil
	}
	if u, err := url.Parse(o.TokenURL); err != nil || u.Host == "" {
		return fmt.Errorf("vault.http.oauth2.token_url %q is not an absolute URL", o.TokenURL)
	}
	if o.ClientID == "" {
		return errors.New("vault.http.oauth2.client_id is required with token_url")
	}
	if (o.ClientSecret == "") == (o.ClientSecretFile == "") {
		return errors.New("vault.http.oauth2: set exactly one of client_secret and client_secret_file")
	}
	return nil
}

// secret returns the client secret, reading it from its file if need be.
func (o *OAuth2Config) secret() (string, error) {
	if o.ClientSecretFile == "" {
		return o.ClientSecret, nil
	}
	b, err := os.ReadFile(o.ClientSecretFile)
	if err != nil {
		return "", fmt.Errorf("vault.http.oauth2.client_secret_file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("vault.http.oauth2.client_secret_file %s is empty", o.ClientSecretFile)
	}
	return s, nil
}

// config builds the client TLS configuration: system roots plus ca_file,
// the client certificate if any, TLS 1.2 at least. key is the YAML path of
// the settings, for errors (vault.http.tls).
func (t ClientTLS) config(key string) (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s.ca_file: %w", key, err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.ca_file %s holds no PEM certificate", key, t.CAFile)
		}
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: t.ServerName}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: client certificate: %w", key, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
