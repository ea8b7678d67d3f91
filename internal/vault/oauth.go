package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// bearer fetches OAuth2 client-credentials tokens and caches one until it
// is within oauth2's expiry margin (10s) of expiring, or the vault answers
// 401. One fetch runs at a time; the others wait for its result.
type bearer struct {
	cfg    clientcredentials.Config
	client *http.Client // for the token endpoint: same TLS settings as the vault

	mu  sync.Mutex
	tok *oauth2.Token // guarded by mu
}

func newBearer(o OAuth2Config, client *http.Client) (*bearer, error) {
	if o.TokenURL == "" {
		return nil, nil
	}
	secret, err := o.secret()
	if err != nil {
		return nil, err
	}
	return &bearer{
		cfg:    clientcredentials.Config{ClientID: o.ClientID, ClientSecret: secret, TokenURL: o.TokenURL, Scopes: o.Scopes},
		client: client,
	}, nil
}

// token returns a valid access token, fetching one if needed. mu is held
// across the fetch on purpose: it serializes fetches and guards nothing else.
func (b *bearer) token(ctx context.Context) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tok.Valid() {
		return b.tok.AccessToken, nil
	}
	tok, err := b.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, b.client))
	if err != nil {
		return "", tokenError(err)
	}
	b.tok = tok
	return tok.AccessToken, nil
}

// invalidate drops the cached token if it is still access (the vault
// refused it).
func (b *bearer) invalidate(access string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tok != nil && b.tok.AccessToken == access {
		b.tok = nil
	}
}

// tokenError keeps the token endpoint's status and drops its body.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return &statusError{op: "oauth2 token", code: re.Response.StatusCode}
	}
	return fmt.Errorf("oauth2 token: %w", err)
}
