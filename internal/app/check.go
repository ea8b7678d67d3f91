package app

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/vault"
)

// Check proves, short of listening, what New and Run will need from this
// host, as `nginx -t` does: every certificate, key and CA file loads, the
// vault and the audit log open (or can be created), every address to bind
// is one of this host's, and the CDR file can be written. It creates
// nothing and takes no lock a running tonewall holds, so it can run beside
// the instance it is about to replace.
//
// err is the first failure. held lists the parts another process has open
// (a running tonewall on the same files): fine for `tonewall check`, fatal
// for `tonewall run`. Both name the YAML line of the key concerned.
func Check(cfg *Config) (held []error, err error) {
	for _, step := range []func(*Config) error{checkTLSFiles, checkVaultDriver, checkAddresses, checkCDRFile} {
		if err := step(cfg); err != nil {
			return nil, err
		}
	}
	for _, step := range []func(*Config) error{checkVaultStore, checkAuditLog} {
		err := step(cfg)
		if errors.Is(err, vault.ErrHeld) || errors.Is(err, audit.ErrHeld) {
			held = append(held, err)
		} else if err != nil {
			return nil, err
		}
	}
	return held, nil
}

// fileKey is a configured file: its YAML path and its value.
type fileKey struct{ key, file string }

// checkTLSFiles loads the SIP certificate, key and CA file as sip.New does.
func checkTLSFiles(cfg *Config) error {
	t := cfg.SIP.TLS
	if err := readable(cfg, fileKey{"sip.tls.cert_file", t.CertFile}, fileKey{"sip.tls.key_file", t.KeyFile},
		fileKey{"sip.tls.ca_file", t.CAFile}); err != nil {
		return err
	}
	if t.CertFile != "" {
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			return cfg.At("sip.tls.cert_file", err)
		}
	}
	if t.CAFile != "" {
		pem, _ := os.ReadFile(t.CAFile) // readable above
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return cfg.At("sip.tls.ca_file", fmt.Errorf("%s holds no PEM certificate", t.CAFile))
		}
	}
	return nil
}

// checkVaultDriver builds the http driver and the detokenize forwarder,
// which read their TLS and secret files, and closes them again. Neither
// connects anywhere before its first use.
func checkVaultDriver(cfg *Config) error {
	v := cfg.Vault
	var drv vault.Vault = (*vault.Local)(nil) // the forwarder only asks whether it holds security codes
	if v.Driver == vault.DriverHTTP {
		h := v.HTTP
		if err := readable(cfg, fileKey{"vault.http.tls.ca_file", h.TLS.CAFile}, fileKey{"vault.http.tls.cert_file", h.TLS.CertFile},
			fileKey{"vault.http.tls.key_file", h.TLS.KeyFile}, fileKey{"vault.http.oauth2.client_secret_file", h.OAuth2.ClientSecretFile}); err != nil {
			return err
		}
		hv, err := vault.NewHTTP(h, nil)
		if err != nil {
			return cfg.At("vault.http", err)
		}
		defer hv.Close()
		drv = hv
	}
	d := v.Detokenize
	if !d.Enabled() {
		return nil
	}
	if err := readable(cfg, fileKey{"vault.detokenize.ca_file", d.CAFile}, fileKey{"vault.detokenize.cert_file", d.CertFile},
		fileKey{"vault.detokenize.key_file", d.KeyFile}, fileKey{"vault.detokenize.bearer_token_file", d.BearerTokenFile}); err != nil {
		return err
	}
	f, err := vault.NewForwarder(d, drv)
	if err != nil {
		return cfg.At("vault.detokenize", err)
	}
	return f.Close()
}

// readable opens each configured file (empty values are not configured).
func readable(cfg *Config, files ...fileKey) error {
	for _, f := range files {
		if f.file == "" {
			continue
		}
		fh, err := os.Open(f.file)
		if err != nil {
			return cfg.At(f.key, err)
		}
		fh.Close()
	}
	return nil
}

// checkVaultStore proves the local vault's directory and key file can be
// created and its store opened.
func checkVaultStore(cfg *Config) error {
	l := cfg.Vault.Local
	if cfg.Vault.Driver != vault.DriverLocal {
		return nil
	}
	if err := canCreateIn(l.Dir); err != nil {
		return cfg.At("vault.local.dir", err)
	}
	if err := creatable(l.KeyFile); err != nil {
		return cfg.At("vault.local.key_file", err)
	}
	if err := vault.CheckLocal(l); err != nil {
		return cfg.At("vault.local", err)
	}
	return nil
}

// checkAuditLog proves the audit log can be created, or opened and resumed.
func checkAuditLog(cfg *Config) error {
	if err := creatable(cfg.Audit.File); err != nil {
		return cfg.At("audit.file", err)
	}
	if err := audit.Check(cfg.Audit.File); err != nil {
		return cfg.At("audit.file", err)
	}
	return nil
}

// checkCDRFile proves the CDR file, when there is one, can be created, or
// opened for appending.
func checkCDRFile(cfg *Config) error {
	file := cfg.CDR.File
	if file == "" {
		return nil
	}
	if err := creatable(file); err != nil {
		return cfg.At("cdr.file", err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return cfg.At("cdr.file", err)
	}
	return f.Close()
}

// creatable passes a file that exists (its owner's check opens it) and
// otherwise proves that its directory can be made and written.
func creatable(file string) error {
	if _, err := os.Lstat(file); err == nil {
		return nil
	}
	return canCreateIn(filepath.Dir(file))
}

// canCreateIn proves that files can be created in dir, or in the directory
// that MkdirAll(dir) would make: it creates and removes a file in dir's
// nearest existing ancestor.
func canCreateIn(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		switch {
		case err == nil && !fi.IsDir():
			return fmt.Errorf("%s is not a directory", d)
		case err == nil:
			f, err := os.CreateTemp(d, ".tonewall-check-*")
			if err != nil {
				return fmt.Errorf("cannot create files in %s: %w", d, err)
			}
			f.Close()
			return os.Remove(f.Name())
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) || filepath.Dir(d) == d:
			return err
		}
	}
}

// checkAddresses proves that every address tonewall binds is this host's.
func checkAddresses(cfg *Config) error {
	addrs := map[string]string{"media.address": net.JoinHostPort(cfg.Media.Address, "0"), "api.address": cfg.API.Address}
	for i, l := range cfg.SIP.Listeners {
		addrs[fmt.Sprintf("sip.listeners[%d].address", i)] = l.Address
	}
	for _, key := range slices.Sorted(maps.Keys(addrs)) {
		if err := onThisHost(addrs[key]); err != nil {
			return cfg.At(key, err)
		}
	}
	return nil
}

// onThisHost binds the host of hostport with port 0: it fails for an
// address no interface holds. An unspecified address (0.0.0.0, ::) is every
// interface's and passes.
func onThisHost(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		return fmt.Errorf("%s is not an address of this host: %w", host, err)
	}
	return c.Close()
}
