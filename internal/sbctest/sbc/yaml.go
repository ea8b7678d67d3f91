package sbc

import (
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// The shape of the YAML that Options render to.
type (
	document struct {
		SIP     sipSection `yaml:"sip"`
		Media   Media      `yaml:"media"`
		Trunks  []trunk    `yaml:"trunks"`
		Routes  []route    `yaml:"routes"`
		Capture M          `yaml:"capture,omitempty"`
		Vault   M          `yaml:"vault,omitempty"`
		CDR     M          `yaml:"cdr,omitempty"`
		Audit   M          `yaml:"audit,omitempty"`
		API     API        `yaml:"api"`
		Log     M          `yaml:"log,omitempty"`
	}
	sipSection struct {
		Listeners []listener `yaml:"listeners"`
		SIP       `yaml:",inline"`
	}
	listener struct {
		Name      string `yaml:"name"`
		Transport string `yaml:"transport"`
		Address   string `yaml:"address"`
	}
	trunk struct {
		Name         string   `yaml:"name"`
		Role         string   `yaml:"role"`
		Listener     string   `yaml:"listener"`
		Sources      []string `yaml:"sources"`
		Targets      []string `yaml:"targets,omitempty"`
		MutualTLS    bool     `yaml:"mutual_tls,omitempty"`
		InboundAuth  *Digest  `yaml:"inbound_auth,omitempty"`
		OutboundAuth *Digest  `yaml:"outbound_auth,omitempty"`
		SRTP         string   `yaml:"srtp,omitempty"`
		KeyExchange  string   `yaml:"key_exchange,omitempty"`
		MaxCalls     int      `yaml:"max_calls,omitempty"`
		Health       M        `yaml:"health,omitempty"`
	}
	route struct {
		From    string `yaml:"from"`
		To      string `yaml:"to"`
		Capture string `yaml:"capture,omitempty"`
	}
)

// YAML renders the options as a tonewall configuration file.
func (o Options) YAML() ([]byte, error) {
	tp := or(o.Transport, "udp")
	d := document{
		SIP: sipSection{SIP: o.SIP, Listeners: []listener{
			{"carrier", tp, or(o.CarrierAddr, "127.0.0.1:0")},
			{"contact_center", tp, or(o.CCAddr, "127.0.0.1:0")},
		}},
		Media: o.Media,
		Trunks: []trunk{
			o.Carrier.render("carrier", tp),
			o.ContactCenter.render("contact_center", tp),
		},
		Routes:  []route{{From: "carrier", To: "contact_center", Capture: or(o.Capture, "api")}},
		Capture: o.CaptureConfig,
		Vault:   o.Vault,
		CDR:     o.CDR,
		API:     o.API,
	}
	if len(o.Carrier.Targets) > 0 {
		d.Routes = append(d.Routes, route{From: "contact_center", To: "carrier"})
	}
	if d.Media.PortMin == 0 {
		d.Media = Media{Address: "127.0.0.1", PortMin: 30000, PortMax: 39999, Drain: 10 * time.Millisecond}
	}
	if d.API.Address == "" {
		d.API.Address = "127.0.0.1:0"
	}
	if o.DataDir != "" {
		d.Audit = M{"file": filepath.Join(o.DataDir, "audit.log")}
		if d.Vault == nil {
			d.Vault = M{"local": M{"dir": o.DataDir}}
		}
	}
	if o.LogLevel != "" {
		d.Log = M{"level": o.LogLevel}
	}
	return yaml.Marshal(d)
}

func (t Trunk) render(name, tp string) trunk {
	out := trunk{Name: name, Role: name, Listener: name, Sources: t.Sources,
		MutualTLS: t.MutualTLS, InboundAuth: t.InboundAuth, OutboundAuth: t.OutboundAuth,
		SRTP: t.SRTP, KeyExchange: t.KeyExchange, MaxCalls: t.MaxCalls, Health: t.Health}
	if len(out.Sources) == 0 {
		out.Sources = []string{"127.0.0.0/8"}
	}
	for _, a := range t.Targets {
		u := "sip:" + a
		if t.SIPS {
			u = "sips:" + a
		} else if tp != "udp" {
			u += ";transport=" + tp
		}
		out.Targets = append(out.Targets, u)
	}
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
