package codegen

import (
	"bytes"
	"fmt"
	"go/token"
	"go/types"
	"reflect"
	"strconv"
	"strings"

	"github.com/dynaseal/dynaseal/schema"
)

// avKind is the DynamoDB type of an encoded value known at generation time;
// kDyn is a types.AttributeValue only known at run time.
type avKind int

const (
	kS avKind = iota
	kN
	kB
	kBOOL
	kNULL
	kL
	kM
	kSS
	kNS
	kBS
	kDyn
)

var memberNames = map[avKind]string{kS: "S", kN: "N", kB: "B", kBOOL: "BOOL", kNULL: "NULL", kL: "L", kM: "M", kSS: "SS", kNS: "NS", kBS: "BS"}

// sink stores one encoded value; it writes the statement(s) doing so.
type sink func(w *bytes.Buffer, k avKind, expr string)

func (g *gen) member(k avKind, e string) string {
	switch k {
	case kDyn:
		return e
	case kNULL:
		return "&" + g.ty() + ".AttributeValueMemberNULL{Value: true}"
	}
	return "&" + g.ty() + ".AttributeValueMember" + memberNames[k] + "{Value: " + e + "}"
}

func (g *gen) mapSink(m, key string) sink {
	return func(w *bytes.Buffer, k avKind, e string) {
		fmt.Fprintf(w, "%s[%s] = %s\n", m, key, g.member(k, e))
	}
}

func (g *gen) listSink(l string) sink {
	return func(w *bytes.Buffer, k avKind, e string) {
		fmt.Fprintf(w, "%s = append(%s, %s)\n", l, l, g.member(k, e))
	}
}

func (g *gen) setSink(set avKind, sv string, c ectx) sink {
	want := map[avKind]avKind{kSS: kS, kNS: kN, kBS: kB}[set]
	name := memberNames[set]
	return func(w *bytes.Buffer, k avKind, e string) {
		switch k {
		case want:
			fmt.Fprintf(w, "%s = append(%s, %s)\n", sv, sv, e)
		case kDyn:
			mv := g.v("sm")
			cond := mv + " != nil"
			if set == kBS {
				cond += " && " + mv + ".Value != nil"
			}
			fmt.Fprintf(w, "if %s, ok := %s.(*%s.AttributeValueMember%s); ok && %s {\n%s = append(%s, %s.Value)\n} else {\n%sgenrt.SetElemError(%q, %q)\n}\n",
				mv, e, g.ty(), memberNames[want], cond, sv, sv, mv, c.ret, c.field, name)
			g.imp(genrtPath)
		default:
			fmt.Fprintf(w, "%sgenrt.SetElemError(%q, %q)\n", c.ret, c.field, name)
			g.imp(genrtPath)
		}
	}
}

const genrtPath = "github.com/dynaseal/dynaseal/codegen/genrt"

// ectx is the context of the code being emitted: the field named in errors
// and how to return an error from the enclosing function.
type ectx struct {
	field string
	ret   string
}

// conv converts x to the basic type named basic unless t is that type.
func (g *gen) conv(t types.Type, basic string, x string) string {
	if b, ok := unalias(t).(*types.Basic); ok && b.Name() == basic {
		return x
	}
	if basic == "byte" {
		if b, ok := unalias(t).(*types.Basic); ok && b.Kind() == types.Uint8 {
			return x
		}
	}
	return basic + "(" + x + ")"
}

// zeroCond is attributevalue's isZeroValue as a Go condition, or "" when
// values of t are never zero (structs, time.Time).
func (g *gen) zeroCond(t types.Type, x string) string {
	switch u := unalias(t).Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsString != 0:
			return x + ` == ""`
		case u.Info()&types.IsBoolean != 0:
			return "!" + x
		case u.Info()&types.IsNumeric != 0:
			return x + " == 0"
		}
	case *types.Pointer, *types.Slice, *types.Map, *types.Interface:
		return x + " == nil"
	case *types.Array:
		if u.Len() == 0 {
			return "true"
		}
	}
	return ""
}

// negate returns the negation of a condition made by zeroCond.
func negate(zc string) string {
	switch {
	case strings.HasSuffix(zc, " == nil"), strings.HasSuffix(zc, ` == ""`), strings.HasSuffix(zc, " == 0"):
		return strings.Replace(zc, " == ", " != ", 1)
	case strings.HasPrefix(zc, "!"):
		return zc[1:]
	case zc == "true":
		return "false"
	}
	return "!(" + zc + ")"
}

func nullable(t types.Type) bool {
	switch unalias(t).Underlying().(type) {
	case *types.Pointer, *types.Slice, *types.Map, *types.Interface:
		return true
	}
	return false
}

// enc writes the statements that encode x (of type t) as attributevalue's
// encoder does with tag, passing the result to s (or nothing, when
// attributevalue omits the value). addr says whether attributevalue sees x
// as addressable (it then finds pointer-receiver marshalers).
func (g *gen) enc(w *bytes.Buffer, c ectx, t types.Type, x string, addr bool, tag tagOpts, s sink, skipZero bool) {
	t = unalias(t)
	if !skipZero {
		if zc := g.zeroCond(t, x); zc != "" {
			if tag.OmitEmpty && tag.NullEmpty {
				g.imp(genrtPath)
				fmt.Fprintf(w, "if %s {\n%sgenrt.OmitNullEmptyError(%q)\n}\n", zc, c.ret, c.field)
			}
			switch {
			case tag.OmitEmpty:
				fmt.Fprintf(w, "if %s {\n", negate(zc))
				g.enc(w, c, t, x, addr, tag, s, true)
				w.WriteString("}\n")
				return
			case nullable(t) || tag.NullEmpty:
				fmt.Fprintf(w, "if %s {\n", zc)
				s(w, kNULL, "")
				w.WriteString("} else {\n")
				g.enc(w, c, t, x, addr, tag, s, true)
				w.WriteString("}\n")
				return
			}
		}
	}
	if p, ok := t.(*types.Pointer); ok {
		g.enc(w, c, p.Elem(), "(*"+x+")", true, tag, s, true)
		return
	}
	if marshaler(t, addr) {
		av := g.v("av")
		g.imp(genrtPath)
		fmt.Fprintf(w, "%s, err := %s.MarshalDynamoDBAttributeValue()\nif err != nil {\n%sgenrt.FieldError(genrt.ErrEncode, %q, err)\n}\n", av, x, c.ret, c.field)
		fmt.Fprintf(w, "if %s != nil {\n", av)
		s(w, kDyn, av)
		w.WriteString("} else {\n")
		g.encKind(w, c, t, x, addr, tag, s)
		w.WriteString("}\n")
		return
	}
	g.encKind(w, c, t, x, addr, tag, s)
}

func (g *gen) encKind(w *bytes.Buffer, c ectx, t types.Type, x string, addr bool, tag tagOpts, s sink) {
	if isTime(t) {
		if tag.AsUnixTime {
			s(w, kN, g.imp("strconv")+".FormatInt("+x+".Unix(), 10)")
		} else {
			s(w, kS, x+".Format("+g.imp("time")+".RFC3339Nano)")
		}
		return
	}
	if g.topNum != nil {
		switch t.Underlying().(type) {
		case *types.Struct, *types.Map, *types.Slice:
			saved := g.topNum
			g.topNum = nil
			defer func() { g.topNum = saved }()
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Struct:
		mv := g.v("m")
		fmt.Fprintf(w, "%s, err := %s(%s)\nif err != nil {\n%serr\n}\n", mv, g.encHelper(t.(*types.Named), addr), addrOf(x), c.ret)
		s(w, kM, mv)
	case *types.Map:
		mv, k, e := g.v("m"), g.v("k"), g.v("e")
		fmt.Fprintf(w, "%s := make(map[string]%s.AttributeValue, len(%s))\nfor %s, %s := range %s {\n", mv, g.ty(), x, k, e, x)
		key := k
		if plainStringKey(u.Key()) {
			key = g.conv(u.Key(), "string", k)
		} else {
			key = g.imp("fmt") + ".Sprint(" + k + ")"
		}
		ks := g.v("ks")
		fmt.Fprintf(w, "%s := %s\n", ks, key)
		if isStringKind(u.Key()) {
			g.imp(genrtPath)
			fmt.Fprintf(w, "if %s == \"\" {\n%sgenrt.EmptyMapKeyError(%q)\n}\n", ks, c.ret, c.field)
		}
		g.enc(w, c, u.Elem(), e, false, tag.elem(), g.mapSink(mv, ks), false)
		w.WriteString("}\n")
		s(w, kM, mv)
	case *types.Slice:
		if isByteSlice(t) {
			if isPlainByteElem(u.Elem()) {
				s(w, kB, "append([]byte{}, "+x+"...)")
				return
			}
			bv, i, b := g.v("b"), g.v("i"), g.v("c")
			fmt.Fprintf(w, "%s := make([]byte, len(%s))\nfor %s, %s := range %s {\n%s[%s] = byte(%s)\n}\n", bv, x, i, b, x, bv, i, b)
			s(w, kB, bv)
			return
		}
		set := kL
		switch {
		case tag.BS || isByteSliceSlice(t):
			set = kBS
		case tag.NS:
			set = kNS
		case tag.SS:
			set = kSS
		}
		i := g.v("i")
		if set == kL {
			lv := g.v("l")
			fmt.Fprintf(w, "%s := make([]%s.AttributeValue, 0, len(%s))\nfor %s := range %s {\n", lv, g.ty(), x, i, x)
			g.enc(w, c, u.Elem(), x+"["+i+"]", true, tag.elem(), g.listSink(lv), false)
			w.WriteString("}\n")
			s(w, kL, lv)
			return
		}
		elem := map[avKind]string{kSS: "string", kNS: "string", kBS: "[]byte"}[set]
		fmt.Fprintf(w, "if len(%s) == 0 {\n", x)
		s(w, kNULL, "")
		sv := g.v("set")
		fmt.Fprintf(w, "} else {\n%s := make([]%s, 0, len(%s))\nfor %s := range %s {\n", sv, elem, x, i, x)
		g.enc(w, c, u.Elem(), x+"["+i+"]", true, tag.elem(), g.setSink(set, sv, c), false)
		w.WriteString("}\n")
		s(w, set, sv)
		w.WriteString("}\n")
	case *types.Basic:
		info := u.Info()
		switch {
		case info&types.IsString != 0:
			if isNumberish(t) {
				k := kN
				if tag.AsString {
					k = kS
				}
				s(w, k, g.conv(t, "string", x))
				return
			}
			s(w, kS, g.conv(t, "string", x))
		case info&types.IsBoolean != 0:
			s(w, kBOOL, g.conv(t, "bool", x))
		default:
			k := kN
			if tag.AsString {
				k = kS
			}
			kind, bits := numKind(t)
			if g.topNum != nil {
				i := g.topNum.n
				g.topNum.n++
				sc := g.imp("strconv")
				fmt.Fprintf(w, "nbOff[%d] = len(nb)\n", i)
				switch kind {
				case "int":
					fmt.Fprintf(w, "nb = %s.AppendInt(nb, %s, 10)\n", sc, g.conv(t, "int64", x))
				case "uint":
					fmt.Fprintf(w, "nb = %s.AppendUint(nb, %s, 10)\n", sc, g.conv(t, "uint64", x))
				case "float":
					fmt.Fprintf(w, "nb = %s.AppendFloat(nb, %s, 'f', -1, %d)\n", sc, g.conv(t, "float64", x), bits)
				}
				fmt.Fprintf(w, "nbEnd[%d] = len(nb)\n", i)
				s(w, k, numMarker+strconv.Itoa(i))
				return
			}
			switch kind {
			case "int":
				s(w, k, g.imp("strconv")+".FormatInt("+g.conv(t, "int64", x)+", 10)")
			case "uint":
				s(w, k, g.imp("strconv")+".FormatUint("+g.conv(t, "uint64", x)+", 10)")
			case "float":
				s(w, k, g.imp("strconv")+".FormatFloat("+g.conv(t, "float64", x)+", 'f', -1, "+strconv.Itoa(bits)+")")
			}
		}
	default:
		panic(fmt.Sprintf("dynaseal-gen: encKind on unsupported type %s", t))
	}
}

func isPlainByteElem(t types.Type) bool {
	b, ok := unalias(t).(*types.Basic)
	return ok && b.Kind() == types.Uint8
}

// encHelper returns the name of the function encoding struct type t.
func (g *gen) encHelper(t *types.Named, addr bool) string {
	suffix := "V"
	if addr {
		suffix = "A"
	}
	name := g.prefix + "Enc" + t.Obj().Name() + suffix
	if !g.helpers[name] {
		g.helpers[name] = true
		g.queue = append(g.queue, helperReq{t: t, addr: addr, enc: true, name: name})
	}
	return name
}

func (g *gen) decHelper(t *types.Named) string {
	name := g.prefix + "Dec" + t.Obj().Name()
	if !g.helpers[name] {
		g.helpers[name] = true
		g.queue = append(g.queue, helperReq{t: t, name: name})
	}
	return name
}

func (g *gen) zeroValue(t types.Type) string {
	switch u := unalias(t).Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsString != 0:
			return `""`
		case u.Info()&types.IsBoolean != 0:
			return "false"
		default:
			return "0"
		}
	case *types.Struct, *types.Array:
		return g.typ(t) + "{}"
	}
	return "nil"
}

// dec writes the statements that decode av into the addressable x (of
// type t) as attributevalue's decoder does with tag.
func (g *gen) dec(w *bytes.Buffer, c ectx, t types.Type, x string, tag tagOpts, av string) {
	t = unalias(t)
	ty := g.ty()
	if p, ok := t.(*types.Pointer); ok {
		fmt.Fprintf(w, "if _, null := %s.(*%s.AttributeValueMemberNULL); null || %s == nil {\n%s = nil\n} else {\nif %s == nil {\n%s = new(%s)\n}\n", av, ty, av, x, x, x, g.typ(p.Elem()))
		g.dec(w, c, p.Elem(), "(*"+x+")", tag, av)
		w.WriteString("}\n")
		return
	}
	if unmarshaler(t) {
		g.imp(genrtPath)
		fmt.Fprintf(w, "if err := %s.UnmarshalDynamoDBAttributeValue(%s); err != nil {\n%sgenrt.FieldError(genrt.ErrDecode, %q, err)\n}\n", x, av, c.ret, c.field)
		return
	}
	a := g.v("a")
	var cs bytes.Buffer
	fmt.Fprintf(&cs, "case nil, *%s.AttributeValueMemberNULL:\n%s = %s\n", ty, x, g.zeroValue(t))
	var sub bytes.Buffer
	if g.fromS(&sub, c, t, x, a+".Value", tag.AsString) {
		fmt.Fprintf(&cs, "case *%s.AttributeValueMemberS:\n%s", ty, sub.String())
	}
	sub.Reset()
	if g.fromN(&sub, c, t, x, a+".Value") {
		fmt.Fprintf(&cs, "case *%s.AttributeValueMemberN:\n%s", ty, sub.String())
	}
	sub.Reset()
	if g.fromB(&sub, t, x, a+".Value") {
		fmt.Fprintf(&cs, "case *%s.AttributeValueMemberB:\n%s", ty, sub.String())
	}
	if isBoolKind(t) {
		fmt.Fprintf(&cs, "case *%s.AttributeValueMemberBOOL:\n%s = %s\n", ty, x, g.convTo(t, a+".Value", "bool"))
	}
	switch u := t.Underlying().(type) {
	case *types.Struct:
		if isTime(t) {
			fmt.Fprintf(&cs, "case *%s.AttributeValueMemberM:\n// attributevalue decodes a map into time.Time as a no-op.\n", ty)
		} else {
			fmt.Fprintf(&cs, "case *%s.AttributeValueMemberM:\nif err := %s(%s.Value, %s); err != nil {\n%serr\n}\n", ty, g.decHelper(t.(*types.Named)), a, addrOf(x), c.ret)
		}
	case *types.Map:
		k, e, kv, ev := g.v("k"), g.v("e"), g.v("kv"), g.v("ev")
		fmt.Fprintf(&cs, "case *%s.AttributeValueMemberM:\nif %s == nil {\n%s = make(%s, len(%s.Value))\n}\nfor %s, %s := range %s.Value {\n", ty, x, x, g.typ(t), a, k, e, a)
		g.mapKey(&cs, c, u.Key(), kv, k)
		fmt.Fprintf(&cs, "var %s %s\n", ev, g.typ(u.Elem()))
		g.scratch[ev] = true
		g.dec(&cs, c, u.Elem(), ev, tagOpts{}, e)
		fmt.Fprintf(&cs, "%s[%s] = %s\n}\n", x, kv, ev)
	case *types.Slice:
		i, e := g.v("i"), g.v("e")
		fmt.Fprintf(&cs, "case *%s.AttributeValueMemberL:\n", ty)
		g.sliceAlloc(&cs, t, x, a)
		fmt.Fprintf(&cs, "for %s, %s := range %s.Value {\n%s = %s[:%s+1]\n", i, e, a, x, x, i)
		g.dec(&cs, c, u.Elem(), x+"["+i+"]", tagOpts{}, e)
		cs.WriteString("}\n")
		for _, set := range []avKind{kSS, kNS, kBS} {
			fmt.Fprintf(&cs, "case *%s.AttributeValueMember%s:\n", ty, memberNames[set])
			g.setElems(&cs, c, set, t, u.Elem(), x, a)
		}
	}
	body := cs.String()
	if strings.Contains(body, a+".") {
		fmt.Fprintf(w, "switch %s := %s.(type) {\n", a, av)
	} else {
		fmt.Fprintf(w, "switch %s.(type) {\n", av)
	}
	g.imp(genrtPath)
	fmt.Fprintf(w, "%sdefault:\n%sgenrt.TypeError(%q, %q, %s)\n}\n", body, c.ret, c.field, types.TypeString(t, (*types.Package).Name), av)
}

func (g *gen) convTo(t types.Type, x, basic string) string {
	if b, ok := unalias(t).(*types.Basic); ok && b.Name() == basic {
		return x
	}
	return g.typ(t) + "(" + x + ")"
}

func (g *gen) sliceAlloc(w *bytes.Buffer, t types.Type, x, a string) {
	fmt.Fprintf(w, "if %s == nil || cap(%s) < len(%s.Value) {\n%s = make(%s, 0, len(%s.Value))\n}\n", x, x, a, x, g.typ(t), a)
}

// setElems decodes the elements of an SS, NS or BS (a.Value) into slice x
// (of type t), as attributevalue's decodeStringSet and friends do.
func (g *gen) setElems(w *bytes.Buffer, c ectx, set avKind, t, elem types.Type, x, a string) {
	elem = unalias(elem)
	target := elem
	ptr := false
	if p, ok := elem.(*types.Pointer); ok {
		target = unalias(p.Elem())
		ptr = true
	}
	single := map[avKind]string{kSS: "S", kNS: "N", kBS: "B"}[set]
	if unmarshaler(target) {
		// attributevalue hands the whole set to the first element's
		// UnmarshalDynamoDBAttributeValue (FixUnmarshalIndividualSetValues
		// is off by default).
		g.sliceAlloc(w, t, x, a)
		g.imp(genrtPath)
		fmt.Fprintf(w, "if len(%s.Value) > 0 {\n%s = %s[:1]\n", a, x, x)
		if ptr {
			fmt.Fprintf(w, "if %s[0] == nil {\n%s[0] = new(%s)\n}\n", x, x, g.typ(target))
		}
		fmt.Fprintf(w, "if err := %s[0].UnmarshalDynamoDBAttributeValue(&%s.AttributeValueMember%s{Value: %s.Value}); err != nil {\n%sgenrt.FieldError(genrt.ErrDecode, %q, err)\n}\n}\n",
			x, g.ty(), memberNames[set], a, c.ret, c.field)
		return
	}
	var sub bytes.Buffer
	i, e := g.v("i"), g.v("e")
	tx := x + "[" + i + "]"
	if ptr {
		tx = "(*" + tx + ")"
	}
	ok := false
	switch set {
	case kSS:
		ok = g.fromS(&sub, c, target, tx, e, false)
	case kNS:
		ok = g.fromN(&sub, c, target, tx, e)
	case kBS:
		ok = g.fromB(&sub, target, tx, e)
	}
	if !ok {
		// No element can ever be decoded into target: attributevalue fails
		// on the first one. Emitted as straight-line code with the effects
		// of the loop's first iteration (a loop that always returns is
		// staticcheck's SA4004).
		g.imp(genrtPath)
		fail := fmt.Sprintf("%sgenrt.ElemTypeError(%q, %q, %q)\n", c.ret, c.field, types.TypeString(target, (*types.Package).Name), single)
		if g.scratch[x] {
			// x is a local variable that the error discards: only the
			// empty set's allocation is observable.
			fmt.Fprintf(w, "if len(%s.Value) > 0 {\n%s}\n", a, fail)
			g.sliceAlloc(w, t, x, a)
			return
		}
		g.sliceAlloc(w, t, x, a)
		fmt.Fprintf(w, "if len(%s.Value) > 0 {\n%s = %s[:1]\n", a, x, x)
		if ptr {
			fmt.Fprintf(w, "if %s[0] == nil {\n%s[0] = new(%s)\n}\n", x, x, g.typ(target))
		}
		fmt.Fprintf(w, "%s}\n", fail)
		return
	}
	g.sliceAlloc(w, t, x, a)
	fmt.Fprintf(w, "for %s, %s := range %s.Value {\n%s = %s[:%s+1]\n", i, e, a, x, x, i)
	if ptr {
		fmt.Fprintf(w, "if %s[%s] == nil {\n%s[%s] = new(%s)\n}\n", x, i, x, i, g.typ(target))
	}
	w.Write(sub.Bytes())
	w.WriteString("}\n")
}

// addrOf returns an expression for &x, simplifying &(*p) to p (staticcheck's
// SA4001; both are the same pointer).
func addrOf(x string) string {
	if strings.HasPrefix(x, "(*") && strings.HasSuffix(x, ")") {
		depth := 0
		for i, r := range x {
			switch r {
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 && i != len(x)-1 {
					return "&" + x
				}
			}
		}
		return x[2 : len(x)-1]
	}
	return "&" + x
}

// fromS is attributevalue's decodeString: s into x, or false when t never
// accepts a string.
func (g *gen) fromS(w *bytes.Buffer, c ectx, t types.Type, x, s string, asString bool) bool {
	if asString {
		return g.fromN(w, c, t, x, s)
	}
	switch {
	case isTime(t):
		tv := g.v("t")
		g.imp(genrtPath)
		fmt.Fprintf(w, "%s, err := %s.Parse(%s.RFC3339, %s)\nif err != nil {\n%sgenrt.TimeError(%q)\n}\n%s = %s\n", tv, g.imp("time"), g.imp("time"), s, c.ret, c.field, x, tv)
		return true
	case isStringKind(t):
		fmt.Fprintf(w, "%s = %s\n", x, g.convTo(t, s, "string"))
		return true
	}
	return false
}

// fromN is attributevalue's decodeNumber.
func (g *gen) fromN(w *bytes.Buffer, c ectx, t types.Type, x, n string) bool {
	goType := types.TypeString(t, (*types.Package).Name)
	if isTime(t) {
		tv := g.v("t")
		g.imp(genrtPath)
		fmt.Fprintf(w, "%s, err := %s.ParseInt(%s, 10, 64)\nif err != nil {\n%sgenrt.NumberError(%q, %q, err)\n}\n%s = %s.Unix(%s, 0)\n", tv, g.imp("strconv"), n, c.ret, c.field, goType, x, g.imp("time"), tv)
		return true
	}
	if isStringKind(t) {
		fmt.Fprintf(w, "%s = %s\n", x, g.convTo(t, n, "string"))
		return true
	}
	kind, bits := numKind(t)
	if kind == "" {
		return false
	}
	nv := g.v("n")
	sc := g.imp("strconv")
	g.imp(genrtPath)
	switch kind {
	case "int":
		fmt.Fprintf(w, "%s, err := %s.ParseInt(%s, 10, %d)\n", nv, sc, n, bits)
	case "uint":
		fmt.Fprintf(w, "%s, err := %s.ParseUint(%s, 10, %d)\n", nv, sc, n, bits)
	case "float":
		fmt.Fprintf(w, "%s, err := %s.ParseFloat(%s, 64)\n", nv, sc, n)
	}
	fmt.Fprintf(w, "if err != nil {\n%sgenrt.NumberError(%q, %q, err)\n}\n", c.ret, c.field, goType)
	if kind == "float" && bits == 32 {
		m := g.imp("math")
		fmt.Fprintf(w, "if f := %s.Abs(%s); f > %s.MaxFloat32 && f <= %s.MaxFloat64 {\n%sgenrt.OverflowError(%q, %q)\n}\n", m, nv, m, m, c.ret, c.field, goType)
	}
	want := map[string]string{"int": "int64", "uint": "uint64", "float": "float64"}[kind]
	fmt.Fprintf(w, "%s = %s\n", x, g.convTo(t, nv, want))
	return true
}

// fromB is attributevalue's decodeBinary for slice targets.
func (g *gen) fromB(w *bytes.Buffer, t types.Type, x, b string) bool {
	if !isByteSlice(t) {
		return false
	}
	fmt.Fprintf(w, "if %s == nil || cap(%s) < len(%s) {\n%s = make(%s, len(%s))\n} else if len(%s) != len(%s) {\n%s = %s[:len(%s)]\n}\n", x, x, b, x, g.typ(t), b, x, b, x, x, b)
	if isPlainByteElem(t.Underlying().(*types.Slice).Elem()) {
		fmt.Fprintf(w, "copy(%s, %s)\n", x, b)
	} else {
		i, e := g.v("i"), g.v("c")
		fmt.Fprintf(w, "for %s, %s := range %s {\n%s[%s] = %s(%s)\n}\n", i, e, b, x, i, g.typ(t.Underlying().(*types.Slice).Elem()), e)
	}
	return true
}

// mapKey decodes map key string k into a new variable kv of type kt.
func (g *gen) mapKey(w *bytes.Buffer, c ectx, kt types.Type, kv, k string) {
	goType := types.TypeString(kt, (*types.Package).Name)
	switch {
	case isStringKind(kt):
		fmt.Fprintf(w, "%s := %s\n", kv, g.convTo(kt, k, "string"))
	case isBoolKind(kt):
		bv := g.v("b")
		g.imp(genrtPath)
		fmt.Fprintf(w, "%s, err := %s.ParseBool(%s)\nif err != nil {\n%sgenrt.MapKeyError(%q, %q, err)\n}\n%s := %s\n", bv, g.imp("strconv"), k, c.ret, c.field, goType, kv, g.convTo(kt, bv, "bool"))
	default:
		fmt.Fprintf(w, "var %s %s\n", kv, g.typ(kt))
		g.fromN(w, c, kt, kv, k)
	}
}

// field is one attribute of a struct being generated, root or nested.
type field struct {
	name  string
	path  []schema.Step
	typ   types.Type
	tag   tagOpts
	raw   string // the dynamodbav tag value
	pos   token.Pos
	gonam string
	mode  support
}

// checkField validates f and sets its mode; false when refused.
func (g *gen) checkField(owner string, f *field) bool {
	s, why := g.check.classify(f.typ)
	if s == refuse {
		g.fail(f.pos, owner, f.gonam, why+`; tag the field dynamodbav:"-" to leave it out`)
		return false
	}
	f.mode = s
	if s == fallback {
		return true
	}
	t := unalias(f.typ)
	if p, ok := t.(*types.Pointer); ok {
		t = unalias(p.Elem())
	}
	setTag := ""
	switch {
	case f.tag.BS:
		setTag = "binaryset"
	case f.tag.NS:
		setTag = "numberset"
	case f.tag.SS:
		setTag = "stringset"
	}
	if setTag != "" {
		sl, ok := t.Underlying().(*types.Slice)
		if !ok || isByteSlice(t) || marshaler(t, true) {
			g.fail(f.pos, owner, f.gonam, fmt.Sprintf("%s tag on type %s, which is not a slice of set elements (attributevalue would ignore the tag)", setTag, f.typ))
			return false
		}
		e := unalias(sl.Elem())
		if p, ok := e.(*types.Pointer); ok {
			e = unalias(p.Elem())
		}
		good := marshaler(e, true)
		switch setTag {
		case "stringset":
			good = good || (isStringKind(e) && !isNumberish(e)) || isTime(e)
		case "numberset":
			k, _ := numKind(e)
			good = good || k != "" || isNumberish(e)
		case "binaryset":
			good = good || isByteSlice(e)
		}
		if !good {
			g.fail(f.pos, owner, f.gonam, fmt.Sprintf("%s tag on %s: its elements do not encode as set members, so every non-empty value would fail to marshal", setTag, f.typ))
			return false
		}
	}
	if f.tag.AsString && isTime(t) {
		g.fail(f.pos, owner, f.gonam, `the "string" option on a time.Time makes attributevalue's decoder read it as unix seconds, so it never round-trips; remove it`)
		return false
	}
	return true
}

// fallbackTag is the struct tag of the one-field struct the fallback uses.
func fallbackTag(raw string) string {
	opts := ""
	if i := strings.IndexByte(raw, ','); i >= 0 {
		opts = raw[i:]
	}
	return strconv.Quote(`dynamodbav:"x` + opts + `"`)
}

// encField encodes field f of the struct at base into s.
func (g *gen) encField(w *bytes.Buffer, c ectx, base string, f field, s sink, addr bool) {
	x, nilable := fieldPath(base, f.path)
	for _, n := range nilable {
		fmt.Fprintf(w, "if %s != nil {\n", n)
	}
	if f.mode == fallback {
		fv := g.v("fav")
		g.imp(genrtPath)
		fmt.Fprintf(w, "%s, ok, err := genrt.MarshalField(&struct {\nF %s %s\n}{F: %s})\nif err != nil {\n%sgenrt.FieldError(genrt.ErrEncode, %q, err)\n}\nif ok {\n", fv, g.typ(f.typ), fallbackTag(f.raw), x, c.ret, c.field)
		s(w, kDyn, fv)
		w.WriteString("}\n")
	} else {
		g.enc(w, c, f.typ, x, addr, f.tag, s, false)
	}
	for range nilable {
		w.WriteString("}\n")
	}
}

// decField decodes av into field f of the struct at base.
func (g *gen) decField(w *bytes.Buffer, c ectx, base string, f field, av string) {
	x, nilable := fieldPath(base, f.path)
	for _, n := range nilable {
		fmt.Fprintf(w, "if %s == nil {\n%s = new(%s)\n}\n", n, n, g.typ(derefType(g.typeAt(base, n, f))))
	}
	if f.mode == fallback {
		tmp := g.v("tmp")
		g.imp(genrtPath)
		fmt.Fprintf(w, "%s := struct {\nF %s %s\n}{F: %s}\n", tmp, g.typ(f.typ), fallbackTag(f.raw), x)
		fmt.Fprintf(w, "if err := genrt.UnmarshalField(%s, &%s); err != nil {\n%sgenrt.FieldError(genrt.ErrDecode, %q, err)\n}\n%s = %s.F\n", av, tmp, c.ret, c.field, x, tmp)
		return
	}
	g.dec(w, c, f.typ, x, f.tag, av)
}

func derefType(t types.Type) types.Type {
	if p, ok := unalias(t).(*types.Pointer); ok {
		return p.Elem()
	}
	return t
}

// typeAt returns the type of the embedded pointer field whose expression is
// n on the way to f (n is a prefix of f's path expression).
func (g *gen) typeAt(base, n string, f field) types.Type {
	expr := base
	t := g.curStruct
	for _, s := range f.path {
		st := unalias(t).Underlying()
		if p, ok := st.(*types.Pointer); ok {
			st = unalias(p.Elem()).Underlying()
		}
		v := st.(*types.Struct).Field(s.Index)
		expr += "." + s.Name
		t = v.Type()
		if expr == n {
			return t
		}
	}
	panic("dynaseal-gen: embedded path not found")
}

// structFields returns the attributes of a same-package struct type used
// as a nested value, validated.
func (g *gen) nestedStructFields(t *types.Named) []field {
	fs, bad := nestedFields(t)
	owner := t.Obj().Name()
	for _, v := range bad {
		g.fail(v.Pos(), owner, v.Name(), "embedded field is unexported and not a struct, so it cannot be stored")
	}
	var out []field
	for _, nf := range fs {
		if _, has := nf.raw.Lookup(schema.SealTagKey); has {
			g.fail(nf.v.Pos(), owner, nf.v.Name(), "seal tag inside a nested struct has no effect: dynaseal encrypts or signs whole top-level attributes; tag the field that holds "+owner+" instead")
			continue
		}
		f := field{name: nf.name, path: nf.path, typ: nf.v.Type(), tag: optsOf(nf.tag), raw: nf.raw.Get(schema.DynamoTagKey), pos: nf.v.Pos(), gonam: nf.v.Name()}
		if g.checkField(owner, &f) {
			out = append(out, f)
		}
	}
	return out
}

// rootFields returns the attributes of an item type, from its schema.
func (g *gen) rootFields(r *rootInfo) []field {
	var out []field
	for _, a := range r.schema.Attributes {
		v := fieldVarAt(r.named, a.Path)
		st := structOf(r.named, a.Path)
		raw := reflect.StructTag(st.Tag(a.Path[len(a.Path)-1].Index)).Get(schema.DynamoTagKey)
		f := field{name: a.Name, path: a.Path, typ: v.Type(), tag: optsOf(a.Dynamo), raw: raw, pos: v.Pos(), gonam: a.Field}
		if g.checkField(r.name, &f) {
			out = append(out, f)
		}
	}
	return out
}

// structOf returns the struct type holding the last step of path.
func structOf(root *types.Named, path []schema.Step) *types.Struct {
	var t types.Type = root
	var st *types.Struct
	for _, s := range path {
		u := unalias(t).Underlying()
		if p, ok := u.(*types.Pointer); ok {
			u = unalias(p.Elem()).Underlying()
		}
		st = u.(*types.Struct)
		t = st.Field(s.Index).Type()
	}
	return st
}

func fieldVarAt(root *types.Named, path []schema.Step) *types.Var {
	st := structOf(root, path)
	return st.Field(path[len(path)-1].Index)
}
