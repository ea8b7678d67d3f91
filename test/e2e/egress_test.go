package e2e

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestSIPEgressBlocksCardNumber: on a call with a capture, an in-dialog
// request whose relayed header or body holds a Luhn-valid card number is
// not sent toward the contact center; the carrier gets 500 and the capture
// fails closed. The same request holding a token (Luhn-invalid) passes.
func TestSIPEgressBlocksCardNumber(t *testing.T) {
	u := callUp(t)
	cid := openCapture(t, u.s, u.callID)
	send := func(hdr, body string) int {
		t.Helper()
		req := sip.NewRequest(sip.INFO, u.sess.InviteResponse.Contact().Address)
		req.AppendHeader(sip.NewHeader("X-Genesys-Note", hdr))
		req.AppendHeader(sip.NewHeader("Content-Type", "application/x-note"))
		req.SetBody([]byte(body))
		res, err := u.sess.Do(ctx10(t), req)
		must(t, err)
		return res.StatusCode
	}
	if code := send("order 9123456789011112", "ref=9123456789011112"); code != 200 {
		t.Fatalf("an INFO holding a token-shaped number: %d, want it relayed (200)", code)
	}
	if code := send("card 4111 1111 1111 1111", "nothing"); code != 500 {
		t.Fatalf("an INFO with a card number in a relayed header: %d, want 500", code)
	}
	for _, r := range u.cc.Received(sip.INFO) {
		if strings.Contains(r.String(), "4111") {
			t.Fatalf("the contact center received the card number:\n%s", r)
		}
	}
	relayed := 0 // the capture's result INFO, sent when it fails closed, is not one
	for _, r := range u.cc.Received(sip.INFO) {
		if r.GetHeader("X-Genesys-Note") != nil {
			relayed++
		}
	}
	if relayed != 1 {
		t.Fatalf("the contact center received %d of the carrier's INFOs, want the token-shaped one", relayed)
	}
	st := waitCapture(t, u.s, u.callID, cid)
	if st["state"] != "failed" {
		t.Fatalf("capture after a blocked message: %v, want failed", st)
	}
	if _, body := apiGet(t, u.s, "", "/metrics"); !strings.Contains(body, "tonewall_sip_egress_blocked_total 1") {
		t.Fatal("the blocked message is not counted")
	}
}
