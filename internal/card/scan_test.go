package card

import "testing"

func TestHoldsCardNumber(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"plain Visa test number", "pan=4111111111111111;", true},
		{"spaced", "card 4111 1111 1111 1111 ok", true},
		{"dashed", "4111-1111-1111-1111", true},
		{"13-digit Luhn-valid", "x4222222222222x", true},
		{"19 digits failing Luhn", "6011000990139424001", false},
		{"Luhn-invalid 16 digits", "4111111111111112", false},
		{"12 digits pass Luhn but are too short", "411111111116", false},
		{"20 digits are no card", "41111111111111110000", false},
		{"double space ends the run", "4111  1111 1111 1111", false},
		{"phone number", "sip:+4930123456@example.com", false},
		{"empty", "", false},
		{"run at the end", "token=4111111111111111", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := HoldsCardNumber([]byte(tc.in)); got != tc.want {
				t.Fatalf("HoldsCardNumber(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func BenchmarkHoldsCardNumber(b *testing.B) {
	msg := []byte(`{"capture_id":"c-8f2a","status":"tokenized","token":"9123456789011111","brand":"visa","last4":"1111"}`)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if HoldsCardNumber(msg) {
			b.Fatal("token matched")
		}
	}
}
