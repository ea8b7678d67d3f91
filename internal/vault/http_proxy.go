package vault

import (
	"crypto/tls"
	"net/http"
	"net/url"

	"go.uber.org/zap"
)

// Outbound proxies. The clients that carry card data out of tonewall — the
// http driver's (its OAuth2 token fetch included) and the Forwarder's —
// take their proxy from the environment with http.ProxyFromEnvironment, as
// net/http's default transport does, on purpose: a host that must reach
// the internet through a proxy reaches the vault and the processor through
// it too. net/http's rules apply: HTTPS_PROXY or https_proxy for https
// URLs, HTTP_PROXY or http_proxy for http ones (card data goes over http
// to loopback only), NO_PROXY or no_proxy for exceptions, never a proxy
// for localhost or a loopback address. The environment is read once per
// process; a setting net/http cannot parse is ignored (a direct
// connection). Each client logs, at info, the proxy in effect.
//
// Through an http:// or https:// proxy the card travels inside a CONNECT
// tunnel, TLS from tonewall to the vault or processor: the proxy sees the
// host and port, not the card, unless it intercepts TLS with a CA this host
// trusts. To keep these clients off a host-wide proxy, name the vault's
// and processor's hosts in NO_PROXY.

// newTransport is http.DefaultTransport's settings with tlsCfg, and its
// proxy from the environment, stated here so that it is a choice.
func newTransport(tlsCfg *tls.Config) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.Proxy = http.ProxyFromEnvironment
	return tr
}

// describeProxy is the proxy for target, fit for a log line: "none" for a
// direct connection, else the proxy's scheme://host:port with no user
// name, password, path or query; ok is false when net/http refuses the
// setting (HTTP_PROXY under CGI), which fails every request to target.
func describeProxy(target string) (proxy string, ok bool) {
	u, err := url.Parse(target)
	if err != nil {
		return "unknown", true // the configuration's URLs are checked before
	}
	p, err := http.ProxyFromEnvironment(&http.Request{URL: u})
	switch {
	case err != nil:
		return "unusable: requests will fail", false
	case p == nil:
		return "none", true
	}
	// Spelled out, not as a url.URL of only these two fields: with go1.26.8
	// this package's test build compiled that literal away and logged p
	// itself, credentials and all (TestOutboundProxyFromEnvironment caught
	// it without -race; the tonewall binary was right).
	return p.Scheme + "://" + p.Host, true
}

// logProxy says, at info (warn when unusable), which proxy client uses to
// reach target. Of target, only the host goes in the line.
func logProxy(log *zap.Logger, client, target string) {
	host := ""
	if u, err := url.Parse(target); err == nil {
		host = u.Host
	}
	proxy, ok := describeProxy(target)
	level := zap.InfoLevel
	if !ok {
		level = zap.WarnLevel
	}
	log.Log(level, "outbound proxy", zap.String("client", client), zap.String("host", host), zap.String("proxy", proxy))
}
