package vault

import (
	"encoding/json"
	"fmt"
	"strings"
)

// bodyField is what a {{placeholder}} of a detokenize body stands for.
type bodyField int

const (
	fieldLiteral bodyField = iota // not a placeholder: text copied as it is
	fieldToken
	fieldPAN
	fieldExpiry
	fieldCVV
	fieldReference
)

var bodyFields = map[string]bodyField{
	"token": fieldToken, "pan": fieldPAN, "expiry": fieldExpiry, "cvv": fieldCVV, "reference": fieldReference,
}

const placeholderList = "{{token}}, {{pan}}, {{expiry}}, {{cvv}} and {{reference}}"

type bodyPart struct {
	field bodyField
	text  string // fieldLiteral only
}

// bodyTemplate is a parsed vault.detokenize.body: literal text and
// placeholders. It has no logic (no conditions, no loops) on purpose.
type bodyTemplate []bodyPart

// parseBodyTemplate splits s at its placeholders. Spaces inside the braces
// are allowed ({{ pan }}); an unknown name, a "{{" never closed or a body
// without {{pan}} is an error.
func parseBodyTemplate(s string) (bodyTemplate, error) {
	var t bodyTemplate
	rest, off := s, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("the %q at byte %d is never closed with %q", "{{", off+i, "}}")
		}
		name := rest[i+2 : i+2+j]
		f, ok := bodyFields[strings.TrimSpace(name)]
		if !ok {
			return nil, fmt.Errorf("unknown placeholder %q; the placeholders are %s", "{{"+name+"}}", placeholderList)
		}
		if i > 0 {
			t = append(t, bodyPart{text: rest[:i]})
		}
		t = append(t, bodyPart{field: f})
		rest, off = rest[i+2+j+2:], off+i+2+j+2
	}
	if rest != "" {
		t = append(t, bodyPart{text: rest})
	}
	if !t.uses(fieldPAN) {
		return nil, fmt.Errorf("has no {{pan}}: the processor would receive no card; the placeholders are %s", placeholderList)
	}
	return t, nil
}

func (t bodyTemplate) uses(f bodyField) bool {
	for _, p := range t {
		if p.field == f {
			return true
		}
	}
	return false
}

// bodyValues fill a template. token and reference are not secret; the card
// fields alias Secrets and are never copied anywhere but the rendered body.
type bodyValues struct {
	token, reference string
	pan, expiry, cvv []byte // digits only (checked by the caller)
}

// render writes the body into one buffer, sized before the first digit goes
// in, so append never reallocates and leaves an unwiped copy behind. token
// and reference are JSON-escaped (without quotes: the template has them);
// the card fields are digits, which need no escaping in any format.
func (t bodyTemplate) render(v bodyValues) []byte {
	token, ref := jsonEscape(v.token), jsonEscape(v.reference)
	n := 0
	for _, p := range t {
		n += len(t.value(p, v, token, ref))
	}
	buf := make([]byte, 0, n)
	for _, p := range t {
		buf = append(buf, t.value(p, v, token, ref)...)
	}
	return buf
}

func (bodyTemplate) value(p bodyPart, v bodyValues, token, ref string) []byte {
	switch p.field {
	case fieldToken:
		return []byte(token)
	case fieldPAN:
		return v.pan
	case fieldExpiry:
		return v.expiry
	case fieldCVV:
		return v.cvv
	case fieldReference:
		return []byte(ref)
	}
	return []byte(p.text)
}

// jsonEscape is s as the inside of a JSON string.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b[1 : len(b)-1])
}
