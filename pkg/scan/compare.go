package scan

import (
	"slices"
	"strings"
)

// compareOps are the operators that make a string literal beside them a comparison.
var compareOps = map[string]bool{"==": true, "!=": true, "===": true, "!==": true, "<>": true}

// compareCalls are functions and methods whose string arguments (or receiver) are compared:
// env.equals("online"), strings.EqualFold(r, "us1"), in_array($env, ['pre']), list.includes(env).
var compareCalls = map[string]bool{
	"equals": true, "equalsignorecase": true, "equalfold": true, "compareto": true,
	"comparetoignorecase": true, "strcmp": true, "strcasecmp": true, "strncmp": true,
	"in_array": true, "array_search": true, "contains": true, "includes": true, "has": true,
	"indexof": true, "startswith": true, "endswith": true, "hasprefix": true, "hassuffix": true,
	"eq": true, "eql": true, "equal": true, "isequal": true,
}

// tokens is a lexed file with its bracket structure: for each token the innermost enclosing
// opener (-1 at top level), and for each opener its closer and its own enclosing opener.
type tokens struct {
	src    string
	t      []token
	within []int32 // token index → index of the innermost enclosing opener, or -1
	closer []int32 // opener index → index of its closer, or len(t) when unclosed
	stack  []int32
}

// index computes the bracket structure of t, reusing tk's buffers.
func (tk *tokens) index(src string, t []token) {
	tk.src, tk.t = src, t
	tk.within = slices.Grow(tk.within[:0], len(t))[:len(t)]
	tk.closer = slices.Grow(tk.closer[:0], len(t))[:len(t)]
	stack := tk.stack[:0]
	for i, x := range t {
		top := int32(-1)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		tk.within[i] = top
		switch x.kind {
		case tOpen:
			stack = append(stack, int32(i))
			tk.closer[i] = int32(len(t))
		case tClose:
			if len(stack) > 0 {
				tk.closer[stack[len(stack)-1]] = int32(i)
				stack = stack[:len(stack)-1]
				tk.within[i] = -1
				if len(stack) > 0 {
					tk.within[i] = stack[len(stack)-1]
				}
			}
		}
	}
	tk.stack = stack
}

func (tk *tokens) is(i int, kind tokKind, text string) bool {
	return i >= 0 && i < len(tk.t) && tk.t[i].kind == kind && tk.t[i].text(tk.src) == text
}

func (tk *tokens) ident(i int) string {
	if i >= 0 && i < len(tk.t) && tk.t[i].kind == tIdent {
		return tk.t[i].text(tk.src)
	}
	return ""
}

// isComparedLiteral reports whether the string literal at i is compared with something:
// an operand of ==/!=/===/!==, a case label, an argument or receiver of a comparing call,
// or a member of a literal list tested with `in` or a membership method.
func (tk *tokens) isComparedLiteral(i int) bool {
	t := tk.t
	if i > 0 && t[i-1].kind == tOp && compareOps[t[i-1].text(tk.src)] {
		return true
	}
	if i+1 < len(t) && t[i+1].kind == tOp && (compareOps[t[i+1].text(tk.src)] || t[i+1].text(tk.src) == "->") {
		return true // "prod" == env; Kotlin when: "prod" -> ...
	}
	// "online".equals(env)
	if tk.is(i+1, tOp, ".") && compareCalls[strings.ToLower(tk.ident(i+2))] {
		return true
	}
	// case "a", "b": / case "a" ->
	j := i - 1
	for j >= 0 && (t[j].kind == tString || tk.is(j, tOp, ",")) {
		j--
	}
	if kw := tk.ident(j); kw == "case" || kw == "when" {
		return true
	}
	g := int(tk.within[i])
	if tk.isCallOf(g) {
		return true
	}
	if g >= 0 && tk.isLiteralList(g) {
		if tk.ident(g-1) == "in" || tk.isMembershipTest(g) {
			return true // x in ("a", "b"); ["a", "b"].includes(x); Arrays.asList("a").contains(x)
		}
		if p := int(tk.within[g]); p >= 0 && (tk.isCallOf(p) || tk.isMembershipTest(p)) {
			return true // in_array($env, ['a', 'b']); new Set(['a']).has(x)
		}
	}
	return false
}

// isCallOf reports whether opener g starts the arguments of a comparing call.
func (tk *tokens) isCallOf(g int) bool {
	return tk.is(g, tOpen, "(") && compareCalls[strings.ToLower(tk.ident(g-1))]
}

// isMembershipTest reports whether the group opened at g is followed by .includes(/.contains(/...
func (tk *tokens) isMembershipTest(g int) bool {
	c := int(tk.closer[g])
	return tk.is(c+1, tOp, ".") && compareCalls[strings.ToLower(tk.ident(c+2))]
}

// isLiteralList reports whether the group opened at g holds only string literals and commas.
func (tk *tokens) isLiteralList(g int) bool {
	c := int(tk.closer[g])
	if c >= len(tk.t) || c == g+1 {
		return false
	}
	for k := g + 1; k < c; k++ {
		if tk.t[k].kind != tString && !tk.is(k, tOp, ",") {
			return false
		}
	}
	return true
}
