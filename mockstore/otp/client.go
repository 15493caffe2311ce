package otp

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gameday/gameday/mockstore"
)

// Channels a code can be sent on.
const (
	ChannelSMS      = "sms"
	ChannelWhatsApp = "whatsapp"
)

// Channels lists the allowed channels.
var Channels = []string{ChannelSMS, ChannelWhatsApp}

// Message is one OTP message. For Send, Phone, Channel, Code and LoginID are
// required and Link is optional; MessageID and ReceivedAt are ignored. From
// Inbox, every field is set (Link only when the message carried one).
type Message struct {
	MessageID  string    `json:"message_id"`
	Phone      string    `json:"phone"`
	Channel    string    `json:"channel"`
	Code       string    `json:"code"`
	LoginID    string    `json:"login_id"`
	Link       string    `json:"link,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

// SendResult is the provider's acknowledgement of a send.
type SendResult struct {
	MessageID string `json:"message_id"`
	Channel   string `json:"channel"`
}

// Audit is GET /audit/otp: accepted sends by channel (both channels always
// present).
type Audit struct {
	Sent map[string]int `json:"sent"`
	// Codes is how many distinct codes the provider delivered to each phone
	// (a code sent by SMS and again by WhatsApp counts once): what the
	// phones received, which no sender's count of its own sends can
	// replace.
	Codes map[string]int `json:"codes"`
}

// sendRequest is the body of POST /send.
type sendRequest struct {
	Phone   string `json:"phone"`
	Channel string `json:"channel"`
	Code    string `json:"code"`
	LoginID string `json:"login_id"`
	Link    string `json:"link,omitempty"`
}

// inboxEntry is one element of GET /inbox/{phone}.
type inboxEntry struct {
	MessageID  string    `json:"message_id"`
	Channel    string    `json:"channel"`
	Code       string    `json:"code"`
	LoginID    string    `json:"login_id"`
	Link       string    `json:"link,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

// Client calls the provider's API. Every method returns a *mockstore.Error
// when the provider answered with an error and a *mockstore.UpstreamError
// when no answer came (for Send: the message may have been delivered).
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client for the provider at baseURL (normally a
// Toxiproxy proxy's address). A nil hc gets mockstore.NewClient(5 * time.Second).
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = mockstore.NewClient(5 * time.Second)
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// Send asks the provider to deliver m, on POST /send/{channel} (so that a
// fault can target one channel by its path). The message is in the phone's
// inbox once Send returns without error; invalid_request names what is wrong.
func (c *Client) Send(ctx context.Context, m Message) (SendResult, error) {
	var r SendResult
	in := sendRequest{Phone: m.Phone, Channel: m.Channel, Code: m.Code, LoginID: m.LoginID, Link: m.Link}
	u := c.base + "/send"
	if m.Channel != "" {
		u += "/" + url.PathEscape(m.Channel)
	}
	err := mockstore.Call(ctx, c.hc, http.MethodPost, u, in, &r, nil)
	return r, err
}

// Inbox returns what phone received, newest first, with MessageID,
// ReceivedAt and Phone set.
func (c *Client) Inbox(ctx context.Context, phone string) ([]Message, error) {
	var es []inboxEntry
	if err := mockstore.Call(ctx, c.hc, http.MethodGet, c.base+"/inbox/"+url.PathEscape(phone), nil, &es, nil); err != nil {
		return nil, err
	}
	out := make([]Message, len(es))
	for i, e := range es {
		out[i] = Message{MessageID: e.MessageID, Phone: phone, Channel: e.Channel, Code: e.Code,
			LoginID: e.LoginID, Link: e.Link, ReceivedAt: e.ReceivedAt}
	}
	return out, nil
}

// ReadAudit reads GET /audit/otp from the provider's audit handler at
// auditBaseURL. A nil hc gets a client with a 30s timeout. Errors are as for
// Client's methods.
func ReadAudit(ctx context.Context, hc *http.Client, auditBaseURL string) (Audit, error) {
	if hc == nil {
		hc = mockstore.NewClient(30 * time.Second)
	}
	var a Audit
	err := mockstore.Call(ctx, hc, http.MethodGet, strings.TrimRight(auditBaseURL, "/")+"/audit/otp", nil, &a, nil)
	return a, err
}
