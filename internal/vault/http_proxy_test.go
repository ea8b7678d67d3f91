package vault

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// net/http reads the proxy settings of the environment once per process,
// so the proxy tests run again in a child process (this test binary) whose
// environment holds them from the start. proxyChild marks the child.
const proxyChild = "TONEWALL_TEST_PROXY_CHILD"

func isProxyChild() bool { return os.Getenv(proxyChild) != "" }

// runProxyChild runs the calling test again in a child process whose
// environment is env (and no other proxy setting), and requires it to pass.
func runProxyChild(t *testing.T, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "REQUEST_METHOD":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, append(env, proxyChild+"=1")...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child:\n%s", out)
	require.Contains(t, string(out), "--- PASS: "+t.Name(), "the child ran the test:\n%s", out)
}

// connectRecorder is a proxy that answers every CONNECT 403 and keeps what
// it was asked: "CONNECT host:port <Proxy-Authorization>".
type connectRecorder struct {
	ln   net.Listener
	mu   sync.Mutex
	seen []string
	wg   sync.WaitGroup
}

func startConnectRecorder(t *testing.T) *connectRecorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &connectRecorder{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				p.mu.Lock()
				p.seen = append(p.seen, req.Method+" "+req.Host+" "+req.Header.Get("Proxy-Authorization"))
				p.mu.Unlock()
				fmt.Fprint(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *connectRecorder) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// proxyLines returns the "outbound proxy" lines logged, as
// "level client host proxy", and everything logged as one string.
func proxyLines(logs *observer.ObservedLogs) (lines []string, all string) {
	var b strings.Builder
	for _, e := range logs.All() {
		fmt.Fprintf(&b, "%s %v\n", e.Message, e.ContextMap())
		if e.Message == "outbound proxy" {
			m := e.ContextMap()
			lines = append(lines, fmt.Sprintf("%s %s %s %s", e.Level, m["client"], m["host"], m["proxy"]))
		}
	}
	return lines, b.String()
}

const (
	proxyUser     = "proxyuser"
	proxyPassword = "proxy-s3cret"
)

// TestOutboundProxyFromEnvironment: with HTTPS_PROXY set, the http driver
// and the Forwarder log at info the proxy each will use — scheme, host and
// port only, never its credentials, path or query — and "none" where
// NO_PROXY or a loopback address keeps a client direct; and what they log
// is what they do: the card's POST goes to that proxy as a CONNECT.
func TestOutboundProxyFromEnvironment(t *testing.T) {
	if !isProxyChild() {
		rec := startConnectRecorder(t)
		runProxyChild(t, "HTTPS_PROXY=http://"+proxyUser+":"+proxyPassword+"@"+rec.ln.Addr().String()+"/p?k=q",
			"NO_PROXY=direct.example")
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(proxyUser+":"+proxyPassword))
		require.ElementsMatch(t, []string{"CONNECT processor.example:443 " + auth, "CONNECT vault.example:443 " + auth}, rec.requests())
		return
	}
	u, err := url.Parse(os.Getenv("HTTPS_PROXY"))
	require.NoError(t, err)
	proxy := "http://" + u.Host

	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	h, err := NewHTTP(HTTPConfig{URL: "https://vault.example/v1", MaxAttempts: 1, OAuth2: OAuth2Config{
		TokenURL: "https://direct.example/oauth2/token", ClientID: "tonewall", ClientSecret: "client-s3cret"}}, log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close() })
	l := newTestLocal(t, LocalConfig{})
	f := newTestForwarder(t, DetokenizeConfig{ForwardURL: "https://processor.example/authorize"}, l)
	f.LogProxy(log)
	newTestForwarder(t, DetokenizeConfig{ForwardURL: "http://127.0.0.1:9/authorize"}, l).LogProxy(log)

	lines, all := proxyLines(logs)
	require.Equal(t, []string{
		"info vault.http vault.example " + proxy,
		"info vault.http.oauth2 direct.example none",
		"info vault.detokenize processor.example " + proxy,
		"info vault.detokenize 127.0.0.1:9 none",
	}, lines)
	for _, secret := range []string{proxyUser, proxyPassword, "/p", "k=q", "client-s3cret"} {
		require.NotContains(t, all, secret)
	}

	// The card goes through the proxy logged, in a tunnel: the proxy
	// refuses the CONNECT, so nothing reaches anyone.
	_, err = f.Forward(context.Background(), tokenizeTest(t, l, "cap-1"), "")
	require.ErrorIs(t, err, ErrProcessorUnavailable)
	require.NotContains(t, err.Error(), proxyPassword)
	resp, err := h.client.Post(h.tokenize, "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the proxy refuses every CONNECT")
	require.NotContains(t, err.Error(), proxyPassword)
}

// TestOutboundProxyUnparsable: net/http ignores a proxy setting it cannot
// parse, so the client connects directly; the log says so ("none"), and
// does not quote the setting.
func TestOutboundProxyUnparsable(t *testing.T) {
	if !isProxyChild() {
		runProxyChild(t, "HTTPS_PROXY=http://"+proxyUser+":"+proxyPassword+"@proxy\x7f.example:3128")
		return
	}
	core, logs := observer.New(zapcore.DebugLevel)
	newTestForwarder(t, DetokenizeConfig{ForwardURL: "https://processor.example/authorize"}, newTestLocal(t, LocalConfig{})).LogProxy(zap.New(core))
	lines, all := proxyLines(logs)
	require.Equal(t, []string{"info vault.detokenize processor.example none"}, lines)
	require.NotContains(t, all, proxyPassword)
}

// TestOutboundProxyRefused: a setting net/http refuses (HTTP_PROXY in a CGI
// environment, for an http URL) fails every request; the line says so at
// warn, and neither it nor the request's error holds the setting.
func TestOutboundProxyRefused(t *testing.T) {
	if !isProxyChild() {
		runProxyChild(t, "REQUEST_METHOD=GET", "HTTP_PROXY=http://"+proxyUser+":"+proxyPassword+"@proxy.example:3128")
		return
	}
	core, logs := observer.New(zapcore.DebugLevel)
	l := newTestLocal(t, LocalConfig{})
	f := newTestForwarder(t, DetokenizeConfig{ForwardURL: "http://127.0.0.1:9/authorize"}, l)
	f.LogProxy(zap.New(core))
	lines, all := proxyLines(logs)
	require.Equal(t, []string{"warn vault.detokenize 127.0.0.1:9 unusable: requests will fail"}, lines)
	require.NotContains(t, all, proxyPassword)

	_, err := f.Forward(context.Background(), tokenizeTest(t, l, "cap-1"), "")
	require.ErrorIs(t, err, ErrProcessorUnavailable)
	require.NotContains(t, err.Error(), proxyPassword)
}
