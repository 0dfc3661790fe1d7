package catalog

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

type dimension uint8

const (
	dimNone   dimension = iota
	dimMass             // base unit g
	dimVolume           // base unit ml
	dimLength           // base unit mm
	dimCount            // pieces
)

// size is a pack size in thousandths of its dimension's base unit, so 0,3 кг
// and 300 г are the same value.
type size struct {
	dim   dimension
	milli int64
}

type tokKind uint8

const (
	tokWord tokKind = iota // letters (inner hyphen or slash kept)
	tokCode                // variant or article code: g12+, 10w40, dot4, вфм-101, 67%, -40
	tokSize                // number with a unit
	tokNum                 // bare number: ignored by matching
)

// token is one meaningful piece of a printed line.
type token struct {
	kind    tokKind
	text    string // words: folded lower case; codes: canonical Latin form
	dotted  bool   // a word followed by '.', i.e. written as an abbreviation
	article bool   // a code shaped like an article number (ВФМ-101, ЯС-450Б)
	family  string // codes: what kind of variant this is (g, 9w9, dot, %, t)
	size    size
}

// lookalikeToCyr folds Latin letters that print like Cyrillic ones.
var lookalikeToCyr = map[rune]rune{
	'a': 'а', 'b': 'в', 'c': 'с', 'e': 'е', 'h': 'н', 'k': 'к', 'm': 'м',
	'o': 'о', 'p': 'р', 't': 'т', 'x': 'х', 'y': 'у',
}

// cyrToLatin gives codes one spelling whatever script the till used: look-alikes
// map to their twin, other letters are transliterated (ДОТ-4 = DOT-4, Г12 = G12).
var cyrToLatin = map[rune]string{
	'а': "a", 'б': "b", 'в': "b", 'г': "g", 'д': "d", 'е': "e", 'ж': "zh", 'з': "z", 'и': "i",
	'й': "i", 'к': "k", 'л': "l", 'м': "m", 'н': "h", 'о': "o", 'п': "p", 'р': "p", 'с': "c",
	'т': "t", 'у': "y", 'ф': "f", 'х': "x", 'ц': "c", 'ч': "ch", 'ш': "sh", 'щ': "sh", 'ъ': "",
	'ы': "y", 'ь': "", 'э': "e", 'ю': "yu", 'я': "ya",
}

func isCyr(r rune) bool { return r >= 'а' && r <= 'я' }

func isLetter(r rune) bool { return unicode.IsLetter(r) }

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isAlnum(r rune) bool { return isLetter(r) || isDigit(r) }

// prepRunes lower-cases, folds ё to е and maps typographic dashes and the
// multiplication sign to plain ones.
func prepRunes(s string) []rune {
	rs := make([]rune, 0, len(s))
	for _, r := range s {
		r = unicode.ToLower(r)
		switch r {
		case 'ё':
			r = 'е'
		case '–', '—', '‑', '−':
			r = '-'
		case '×':
			r = 'x'
		case '\u00a0', '\t':
			r = ' '
		}
		rs = append(rs, r)
	}
	return rs
}

// foldWord maps Latin look-alike letters to Cyrillic when the word has a
// Cyrillic letter or consists only of look-alikes (TEPMOKC), and a 0 standing
// between Cyrillic letters to о. Words in real Latin (Sintec, Bosch) stay.
func foldWord(w []rune) []rune {
	hasCyr, allLook := false, true
	for _, r := range w {
		switch {
		case isCyr(r):
			hasCyr = true
		case r >= 'a' && r <= 'z':
			if _, ok := lookalikeToCyr[r]; !ok {
				allLook = false
			}
		}
	}
	if !hasCyr && !allLook {
		return w
	}
	out := make([]rune, len(w))
	for i, r := range w {
		if c, ok := lookalikeToCyr[r]; ok {
			r = c
		} else if r == '0' && hasCyr && i > 0 && i < len(w)-1 && isCyr(w[i-1]) && isCyr(w[i+1]) {
			r = 'о'
		}
		out[i] = r
	}
	return out
}

// latinCode renders a code in canonical Latin without hyphens.
func latinCode(w []rune) string {
	var b strings.Builder
	for _, r := range w {
		if r == '-' {
			continue
		}
		if l, ok := cyrToLatin[r]; ok {
			b.WriteString(l)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// codeFamily says which kind of variant a canonical code is: its leading
// letters (g12 → g, dot4 → dot, bfm101 → bfm) or, for codes that start with
// a digit, its shape (10w40 → 9w9).
func codeFamily(code string) string {
	i := 0
	for i < len(code) && !isDigit(rune(code[i])) {
		i++
	}
	if i > 0 {
		return code[:i]
	}
	var b strings.Builder
	prevDigit := false
	for _, r := range code {
		if isDigit(r) || r == '.' {
			if !prevDigit {
				b.WriteByte('9')
			}
			prevDigit = true
			continue
		}
		prevDigit = false
		b.WriteRune(r)
	}
	return b.String()
}

// tokenize splits a printed line into tokens. It drops markers that never
// change the product: the quantity prefix (*2), [М], leading shop codes,
// carton counts (x24), a lone % and discount percentages (-20%).
func tokenize(s string) []token {
	rs := prepRunes(s)
	starsToMultipacks(rs)
	var toks []token
	n := len(rs)
	i := 0
	for i < n {
		r := rs[i]
		switch {
		case r == '*' && i+1 < n && isDigit(rs[i+1]):
			i = skipQuantity(rs, i)
		case r == '-' && i+1 < n && isDigit(rs[i+1]) && (i == 0 || !isAlnum(rs[i-1])):
			i = readSigned(rs, i, &toks)
		case !isAlnum(r):
			if r == '.' && len(toks) > 0 && toks[len(toks)-1].kind == tokWord && i > 0 && isLetter(rs[i-1]) {
				toks[len(toks)-1].dotted = true
			}
			i++
		default:
			j, hasDigit := scanRun(rs, i)
			run := rs[i:j]
			if hasDigit {
				i = classifyRun(rs, run, j, len(toks) == 0, &toks)
			} else {
				addLetters(run, &toks)
				i = j
			}
		}
	}
	return mergeSpacedCodes(dropNoise(toks))
}

// starsToMultipacks rewrites "2*300г" as "2x300г", a multipack like
// "2х300г"; "*2" before a word stays the quantity prefix.
func starsToMultipacks(rs []rune) {
	for i := 1; i+1 < len(rs); i++ {
		if rs[i] == '*' && isDigit(rs[i-1]) && isDigit(rs[i+1]) {
			rs[i] = 'x'
		}
	}
}

// skipQuantity skips the quantity prefix "*2" at rs[i] and returns the
// index after it.
func skipQuantity(rs []rune, i int) int {
	i++
	for i < len(rs) && (isDigit(rs[i]) || rs[i] == '.' || rs[i] == ',') {
		i++
	}
	return i
}

// readSigned reads the signed number at rs[i]: a temperature (-40, -30С)
// becomes a code "t40", a discount (-20%) is dropped, and a minus glued to
// letters (-40м) is skipped so the rest reads as a code run. It returns the
// index to continue at.
func readSigned(rs []rune, i int, toks *[]token) int {
	n := len(rs)
	j := i + 1
	for j < n && isDigit(rs[j]) {
		j++
	}
	num := string(rs[i+1 : j])
	k := j
	for k < n && rs[k] == ' ' {
		k++
	}
	if k < n && rs[k] == '%' {
		return k + 1
	}
	// optional degree sign and C
	if j < n && rs[j] == '°' {
		j++
	}
	if j < n && (rs[j] == 'с' || rs[j] == 'c') && (j+1 >= n || !isAlnum(rs[j+1])) {
		j++
	}
	if j < n && isAlnum(rs[j]) {
		// -40м or similar: not a temperature; read as a code run
		return i + 1
	}
	*toks = append(*toks, token{kind: tokCode, text: "t" + num, family: "t"})
	return j
}

// scanRun reads the alphanumeric run at rs[i] with its joiners (a hyphen
// between alphanumerics, a decimal separator between digits, the slash of
// an abbreviation, trailing + after a digit) and returns its end and
// whether it holds a digit.
func scanRun(rs []rune, i int) (int, bool) {
	n := len(rs)
	j := i
	hasDigit := false
	for j < n {
		c := rs[j]
		if isAlnum(c) {
			hasDigit = hasDigit || isDigit(c)
			j++
			continue
		}
		if j+1 < n && j > i && joins(rs, i, j) {
			j++
			continue
		}
		if c == '+' && hasDigit {
			for j < n && rs[j] == '+' {
				j++
			}
		}
		break
	}
	return j, hasDigit
}

// joins reports whether the non-alphanumeric rs[j], inside a run that
// started at rs[start] and goes on after it, joins the run.
func joins(rs []rune, start, j int) bool {
	c, prev, next := rs[j], rs[j-1], rs[j+1]
	switch c {
	case '-':
		return isAlnum(prev) && isAlnum(next)
	case '.', ',':
		return isDigit(prev) && isDigit(next)
	case '/':
		return slashJoin(rs, start, j)
	}
	return false
}

// addLetters files a run of letters: a word, or the "plus" of the code
// before it (G12 плюс is G12+).
func addLetters(run []rune, toks *[]token) {
	ws := string(foldWord(run))
	if last := len(*toks) - 1; plusWords[ws] && last >= 0 && (*toks)[last].kind == tokCode {
		(*toks)[last].text += "+"
		return
	}
	*toks = append(*toks, token{kind: tokWord, text: ws})
}

// dropNoise removes noise words, and the number after "арт." or "код" (the
// shop's article, not a size). It runs before spaced codes are merged, so
// that the merge does not depend on them and Normalize (which drops them)
// is idempotent. It filters toks in place.
func dropNoise(toks []token) []token {
	kept := toks[:0]
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tokWord || !noiseWords[t.text] {
			kept = append(kept, t)
			continue
		}
		if i == 0 && notItemStems.has(lineWord{text: t.text, runes: utf8.RuneCountInString(t.text)}) {
			kept = append(kept, t) // "Скидка …" opens a discount line: matchName needs it
			continue
		}
		if articleWords[t.text] && i+1 < len(toks) && toks[i+1].kind == tokNum {
			i++
		}
	}
	return kept
}

// slashJoin reports whether the '/' at rs[j] joins a receipt abbreviation such
// as п/синт, ст/б, с/о: short letters on both sides.
func slashJoin(rs []rune, start, j int) bool {
	if j-start > 3 {
		return false
	}
	for _, r := range rs[start:j] {
		if !isLetter(r) {
			return false
		}
	}
	k := j + 1
	for k < len(rs) && isLetter(rs[k]) {
		k++
	}
	right := k - (j + 1)
	if right == 0 || (right > 5 && !(j-start == 1 && rs[start] == 'б')) {
		// (б/ is "без": б/каркасная stays one word, never "каркасная")
		return false
	}
	return k >= len(rs) || !isDigit(rs[k])
}

// classifyRun turns a run that holds a digit into a size, code, number or
// nothing (markers), appending to toks. It returns the index to continue at,
// which is past a unit or % that follows the number.
func classifyRun(rs, run []rune, next int, first bool, toks *[]token) int {
	// split a leading number (with decimal separator) from trailing letters
	k := leadingNumber(run)
	num, rest := string(run[:k]), run[k:]
	if k > 0 && len(rest) == 0 {
		return classifyNumber(rs, num, next, first, toks)
	}
	if k > 0 {
		if sz, ok := gluedSize(num, rest); ok {
			*toks = append(*toks, token{kind: tokSize, size: sz})
			return next
		}
	}
	// carton count x24 / х24
	if len(run) > 1 && (run[0] == 'x' || run[0] == 'х') && allDigits(run[1:]) {
		return next
	}
	if onlyDigitsAndHyphens(run) {
		// a number range such as 2101-2112 (car models): not a variant
		*toks = append(*toks, token{kind: tokNum, text: string(run)})
		return next
	}
	*toks = append(*toks, wordOrCode(run))
	return next
}

// leadingNumber returns the length of the number run starts with: digits,
// with a decimal point or comma between two of them.
func leadingNumber(run []rune) int {
	k := 0
	for k < len(run) && (isDigit(run[k]) || ((run[k] == '.' || run[k] == ',') && k > 0 && k+1 < len(run) && isDigit(run[k+1]))) {
		k++
	}
	return k
}

// classifyNumber reads a bare number that ends at next: a percentage or a
// size when a "%" or a unit follows after spaces (returning the index past
// it), nothing when it is the shop's own article code at the start of the
// line, else a number.
func classifyNumber(rs []rune, num string, next int, first bool, toks *[]token) int {
	p := next
	for p < len(rs) && rs[p] == ' ' {
		p++
	}
	if p < len(rs) && rs[p] == '%' {
		pc := strings.ReplaceAll(num, ",", ".") + "%"
		*toks = append(*toks, token{kind: tokCode, text: pc, family: codeFamily(pc)})
		return p + 1
	}
	q := p
	for q < len(rs) && isLetter(rs[q]) {
		q++
	}
	if q > p && (q >= len(rs) || !isAlnum(rs[q])) {
		if sz, ok := makeSize(num, string(rs[p:q])); ok {
			*toks = append(*toks, token{kind: tokSize, size: sz})
			return q
		}
	}
	if first && len(num) >= 5 {
		return next // the shop's own article code
	}
	*toks = append(*toks, token{kind: tokNum, text: num})
	return next
}

// gluedSize reads a number with letters glued to it as a size: "300г", a
// multipack "2х300г", or a size with a carton count "300гх24".
func gluedSize(num string, rest []rune) (size, bool) {
	if sz, ok := makeSize(num, string(rest)); ok {
		return sz, true
	}
	if sz, ok := multipack(num, rest); ok {
		return sz, true
	}
	return sizeWithCarton(num, rest)
}

// wordOrCode is the token of a run of letters and digits that is no size
// or number: a word when it folds to letters only (ТЕРМ0КС, with a 0 in
// place of о), else a variant or article code.
func wordOrCode(run []rune) token {
	w := foldWord(run)
	if !containsDigit(w) {
		return token{kind: tokWord, text: string(w)}
	}
	code := latinCode(w)
	return token{kind: tokCode, text: code, family: codeFamily(code), article: isArticle(run)}
}

// multipack reads "2х300г" (num "2", rest "х300г"): N packs of a size, one
// pack of N times the size, which is not the single pack's SKU.
func multipack(num string, rest []rune) (size, bool) {
	if len(rest) < 3 || (rest[0] != 'x' && rest[0] != 'х') || !allDigits([]rune(num)) {
		return size{}, false
	}
	k := 1
	for k < len(rest) && (isDigit(rest[k]) || ((rest[k] == '.' || rest[k] == ',') && k > 1 && k+1 < len(rest) && isDigit(rest[k+1]))) {
		k++
	}
	sz, ok := makeSize(string(rest[1:k]), string(rest[k:]))
	if !ok {
		return size{}, false
	}
	var count int64
	for _, r := range num {
		count = count*10 + int64(r-'0')
		if count > 1000 {
			return size{}, false
		}
	}
	if count == 0 {
		return size{}, false
	}
	sz.milli *= count
	return sz, true
}

// sizeWithCarton reads "300гх24" (num "300", rest "гх24"): the size with a
// carton count glued to it, which is dropped like a spaced x24.
func sizeWithCarton(num string, rest []rune) (size, bool) {
	for k, r := range rest {
		if (r == 'x' || r == 'х') && k > 0 && allDigits(rest[k+1:]) {
			return makeSize(num, string(rest[:k]))
		}
	}
	return size{}, false
}

// isArticle reports whether a run looks like a manufacturer's article number:
// two or more letters, an optional hyphen, three or more digits, optional
// letters (ВФМ-101, ВФМ101, ЯС-450Б).
func isArticle(run []rune) bool {
	i := 0
	for i < len(run) && isLetter(run[i]) {
		i++
	}
	if i < 2 || i >= len(run) {
		return false
	}
	if run[i] == '-' {
		i++
	}
	d := i
	for i < len(run) && isDigit(run[i]) {
		i++
	}
	if i-d < 3 {
		return false
	}
	for ; i < len(run); i++ {
		if !isLetter(run[i]) {
			return false
		}
	}
	return true
}

func allDigits(rs []rune) bool {
	for _, r := range rs {
		if !isDigit(r) {
			return false
		}
	}
	return len(rs) > 0
}

func onlyDigitsAndHyphens(rs []rune) bool {
	for _, r := range rs {
		if !isDigit(r) && r != '-' {
			return false
		}
	}
	return true
}

func containsDigit(rs []rune) bool {
	for _, r := range rs {
		if isDigit(r) {
			return true
		}
	}
	return false
}

// makeSize parses "0,3" + "кг" into a size.
func makeSize(num, unit string) (size, bool) {
	u, ok := units[unit]
	if !ok {
		return size{}, false
	}
	m, err := parseMilli(num, 3)
	if err != nil || m == 0 {
		return size{}, false
	}
	return size{dim: u.dim, milli: m * u.factor}, true
}

// mergeSpacedCodes joins a short letter prefix and a number printed apart
// ("DOT 4", "G 12") into one code.
func mergeSpacedCodes(toks []token) []token {
	out := toks[:0]
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind == tokWord && i+1 < len(toks) && (toks[i+1].kind == tokNum || toks[i+1].kind == tokCode) && !t.dotted {
			l := utf8.RuneCountInString(t.text)
			nt := toks[i+1].text
			digits := strings.TrimRight(nt, "+")
			if (t.text == "х" || t.text == "x") && toks[i+1].kind == tokNum && allDigits([]rune(nt)) {
				i++ // a spaced carton count "x 24", dropped like x24
				continue
			}
			if l >= 1 && l <= 3 && len(digits) <= 3 && allDigits([]rune(digits)) && !noiseWords[t.text] && !packagingWords[t.text] &&
				!strings.ContainsRune(t.text, '/') {
				code := latinCode([]rune(t.text + nt))
				out = append(out, token{kind: tokCode, text: code, family: codeFamily(code)})
				i++
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

// formatSize prints a size the way Normalize shows it: 300г, 1.5кг, 4л, 500мм.
func formatSize(sz size) string {
	switch sz.dim {
	case dimMass:
		if sz.milli >= 1000000 {
			return FormatVolume(sz.milli/1000) + "кг"
		}
		return FormatVolume(sz.milli) + "г"
	case dimVolume:
		if sz.milli >= 1000000 {
			return FormatVolume(sz.milli/1000) + "л"
		}
		return FormatVolume(sz.milli) + "мл"
	case dimLength:
		return FormatVolume(sz.milli) + "мм"
	case dimCount:
		return FormatVolume(sz.milli) + "шт"
	}
	return ""
}

// Normalize returns the canonical form of a receipt line: lower case, ё as е,
// Latin look-alikes folded to Cyrillic, punctuation and quotes dropped, sizes
// in one spelling (0,3кг → 300г, 5000мл → 5л), variant codes in one spelling
// (G-12 → g12, ДОТ-4 → dot4), and markers that do not change the product
// removed (quantity prefix, [М], shop codes, promo words, carton counts). Lines
// that differ only in such details normalise to the same string, which makes
// it the key for learned aliases and for grouping the unmatched-lines list.
func Normalize(s string) string { return settle(normalizeTokens(tokenize(s))) }

// settle normalises n again until it stops changing, so that Normalize is
// idempotent (an alias key stays the key): a few inputs only settle on the
// second round, such as "1!G" → "1 g" → "1г" or "A.0" → "а 0" → "a0".
func settle(n string) string {
	for range 4 {
		again := normalizeTokens(tokenize(n))
		if again == n {
			break
		}
		n = again
	}
	return n
}

func normalizeTokens(toks []token) string {
	var parts []string
	for _, t := range toks {
		switch t.kind {
		case tokWord:
			if noiseWords[t.text] {
				continue
			}
			parts = append(parts, t.text)
		case tokCode, tokNum:
			parts = append(parts, t.text)
		case tokSize:
			parts = append(parts, formatSize(t.size))
		}
	}
	return strings.Join(parts, " ")
}
