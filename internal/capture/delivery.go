package capture

import (
	"context"
	"encoding/json"
	"time"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/dtmf/collect"
)

// The three ways a capture's result reaches the contact center, each one
// configured under capture.delivery: a SIP INFO on the call
// (application/vnd.tonewall.capture+json), the token keyed as DTMF, and a
// signed webhook (webhook.go signs and retries). Every body passes the
// egress check on its way out.

// results builds the body each configured delivery sends and checks it on
// its way out: a body that holds a card number is not sent (nil), and
// blocked says so.
func (c *Window) results(snap Status) (webhook, info []byte, blocked bool) {
	body, _ := json.Marshal(resultBody{CaptureID: c.id, CallID: c.callID, Status: snap.State, Reason: snap.Reason,
		Token: snap.Token, Brand: snap.Brand, Last4: snap.Last4})
	if c.svc.cfg.Delivery.Webhook.URL != "" {
		webhook = c.svc.egress(c, pathWebhook, body)
		blocked = webhook == nil
	}
	if snap.State != string(collect.StateCallEnded) && c.svc.cfg.Delivery.SIPInfo && c.ctrl.deliver != nil {
		info = c.svc.egress(c, pathSIPInfo, body)
		blocked = blocked || info == nil
	}
	return webhook, info, blocked
}

// send delivers a checked result: the webhook on a goroutine of its own
// (its retries must not hold the capture or the call's end up), the token
// as DTMF, then the SIP INFO.
func (c *Window) send(snap Status, hook, info []byte) {
	if hook != nil {
		c.svc.wg.Add(1)
		go func() {
			defer c.svc.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := c.svc.cfg.Delivery.Webhook.send(ctx, hook, c.svc.metrics.webhook); err != nil {
				c.svc.log.Warn("capture result webhook failed", zap.String("capture_id", c.id), zap.Error(err))
			}
		}()
	}
	if snap.State == string(collect.StateTokenized) && c.svc.cfg.Delivery.TokenDTMF {
		c.ctrl.keyTokenLater(snap.Token)
	}
	if info == nil {
		return
	}
	if err := c.ctrl.deliver(ResultContentType, info); err != nil {
		c.svc.log.Warn("capture result INFO failed", zap.String("capture_id", c.id), zap.Error(err))
	}
}
