package media

import (
	"net/netip"

	"go.uber.org/zap"
)

func legField(l Side) zap.Field { return zap.Stringer("leg", l) }

func addrField(a netip.AddrPort) zap.Field { return zap.String("addr", a.String()) }
