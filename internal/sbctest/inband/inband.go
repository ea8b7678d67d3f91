// Package inband keys DTMF as audio on a test phone, with tonewall's own
// tone generator. It is apart from sbctest because it imports
// internal/dtmf, whose own tests import sbctest.
package inband

import (
	"fmt"

	"github.com/tonewall/tonewall/internal/dtmf"
	"github.com/tonewall/tonewall/internal/sbctest"
)

// Key sends one key press as PCMU frames: 100 ms of the key's tone at
// -10 dBm0, then 100 ms of silence.
func Key(p *sbctest.Phone, k byte) error {
	key, ok := dtmf.ParseKey(k)
	if !ok {
		return fmt.Errorf("%q is not a DTMF key", k)
	}
	g, err := dtmf.NewKeyTone(key, -10)
	if err != nil {
		return err
	}
	pcm := make([]int16, 160)
	for i := range 10 {
		if i < 5 {
			g.Read(pcm)
		} else {
			clear(pcm)
		}
		if err := p.Frame(dtmf.EncodeUlaw(make([]byte, len(pcm)), pcm)); err != nil {
			return err
		}
	}
	return nil
}
