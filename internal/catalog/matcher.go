package catalog

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// How a line was matched (Result.How).
const (
	HowGTIN  = "gtin"
	HowAlias = "alias"
	HowName  = "name"
	HowNone  = "none"
)

// Why a line was not matched (Result.Reason when How is HowNone).
const (
	ReasonEmpty          = "empty"            // nothing left after markers
	ReasonGTINNotOurs    = "gtin_not_ours"    // a valid GTIN that is not in the catalog
	ReasonNoBrand        = "no_brand"         // none of our brands and none of our article codes
	ReasonCodeNotOurs    = "code_not_ours"    // an article code of our series that the catalog lacks
	ReasonExcludedOffer  = "excluded_offer"   // gift set, concentrate, bulk oil, sample
	ReasonNotAnItem      = "not_an_item"      // a discount, coupon or service line that names our product
	ReasonSizeMismatch   = "size_mismatch"    // our product in a size the catalog lacks
	ReasonVariant        = "variant_mismatch" // a variant (code or word) no SKU has
	ReasonUnknownProduct = "unknown_product"  // unknown words where the SKU's own are missing
	ReasonUnknownWord    = "unknown_word"     // the SKU named in full plus a word the catalog does not know (острый, детский): maybe a variant we do not hold
	ReasonNoCandidate    = "no_candidate"     // our brand, but nothing names one of its products
	ReasonAmbiguous      = "ambiguous"        // fits more than one SKU
)

// Result is the outcome of matching one receipt line.
type Result struct {
	// SKUID is the matched SKU's ID, empty when How is HowNone.
	SKUID string
	// How is HowGTIN, HowAlias, HowName or HowNone.
	How string
	// Reason says why nothing matched; empty on a match.
	Reason string
}

// String renders the result for a report: "gtin", "name", "none:ambiguous".
func (r Result) String() string {
	if r.How == HowNone && r.Reason != "" {
		return HowNone + ":" + r.Reason
	}
	return r.How
}

// bitset is a set of small integers (SKU or vocabulary indexes).
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (uint(i) % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(uint(i)%64)) != 0 }
func (b bitset) or(o bitset) {
	for i := range b {
		b[i] |= o[i]
	}
}
func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// skuInfo is what the matcher precomputes for one SKU.
type skuInfo struct {
	id        string
	words     []int           // vocabulary ids of the product words, outside brackets
	allWords  []int           // words plus bracketed applicability words (ВАЗ, Гранта)
	codes     map[string]bool // canonical variant and article codes
	groupFams map[string]bool // code families used by SKUs of the same client and category
	sizes     []size          // pack sizes the SKU may be printed with
	perPiece  bool            // sold by the piece: sizes are not compared
	implied   []string        // words its name implies (чили → острый, lexicon) and its category's words
}

// vword is one word of the catalog vocabulary.
type vword struct {
	text  string
	runes int
	skus  bitset // SKUs whose name holds the word
}

// brandInfo is one brand with its normalised words.
type brandInfo struct {
	words [][]rune
	strs  []string
	skus  []int
}

// Matcher maps receipt lines to SKUs of one catalog. Build it with NewMatcher;
// it is immutable and safe for concurrent use.
type Matcher struct {
	src       []SKU
	skus      []skuInfo
	byGTIN    map[string]int
	aliases   map[string]int // normalised alias → SKU index, -1 when two SKUs claim it
	brands    []brandInfo
	vocab     []vword
	vocabIdx  map[string]int
	buckets   map[rune][]int // vocabulary ids by first rune
	byArticle map[string]int // article code → SKU index (codes unique to one SKU)
	artFams   map[string]bool
}

// NewMatcher precomputes everything matching needs from the catalog. SKUs are
// not modified. An alias claimed by two SKUs is ignored (it decides nothing),
// and so is a GTIN listed twice.
func NewMatcher(skus []SKU) *Matcher {
	b := newMatcherBuilder(skus)
	for i, s := range skus {
		b.addSKU(i, s)
	}
	b.groupCodeFamilies()
	b.indexArticles()
	b.buildVocabulary()
	return b.m
}

// matcherBuilder is what NewMatcher keeps only while it builds m.
type matcherBuilder struct {
	m            *Matcher
	brandIdx     map[string]int // brand words (fmt.Sprint) → index in m.brands
	articleCount map[string]int // article code → SKUs that carry it
	pend         []pendingWords // per SKU: name words, before the vocabulary exists
	groups       map[string][]int
}

// pendingWords are one SKU's name words outside and inside brackets.
type pendingWords struct {
	words, paren []string
}

func newMatcherBuilder(skus []SKU) *matcherBuilder {
	n := len(skus)
	m := &Matcher{
		src:       append([]SKU(nil), skus...),
		byGTIN:    map[string]int{},
		aliases:   map[string]int{},
		vocabIdx:  map[string]int{},
		buckets:   map[rune][]int{},
		byArticle: map[string]int{},
		artFams:   map[string]bool{},
		skus:      make([]skuInfo, n),
	}
	return &matcherBuilder{m: m, brandIdx: map[string]int{}, articleCount: map[string]int{},
		pend: make([]pendingWords, n), groups: map[string][]int{}}
}

// addSKU indexes SKU i: its GTINs, aliases, brand, name words, codes and
// sizes, the words its category implies, and its client-and-category group.
func (b *matcherBuilder) addSKU(i int, s SKU) {
	info := &b.m.skus[i]
	info.id = s.ID
	info.codes = map[string]bool{}
	info.perPiece = s.Unit == "шт"
	b.addGTINs(i, s.GTINs)
	b.addAliases(i, s.Aliases)
	bset := b.addBrand(i, s.Brand)
	b.addName(i, s.Name, bset)
	if sz, ok := makeSize(FormatVolume(s.Volume), s.Unit); ok {
		info.sizes = append(info.sizes, sz)
		cat := Normalize(s.Category)
		if sz.dim == dimMass && massByVolumeCategories[cat] {
			info.sizes = append(info.sizes, size{dim: dimVolume, milli: sz.milli})
		}
	}
	// A till may print the category (Консервы овощные): its words are
	// no unknown variant on this SKU's line.
	for _, t := range tokenize(s.Category) {
		if t.kind == tokWord && utf8.RuneCountInString(t.text) >= 3 {
			info.implied = append(info.implied, t.text)
		}
	}
	gk := s.Client + "|" + Normalize(s.Category)
	b.groups[gk] = append(b.groups[gk], i)
}

// addGTINs maps SKU i's valid GTINs to it; a GTIN two SKUs list maps to -1.
func (b *matcherBuilder) addGTINs(i int, gtins []string) {
	m := b.m
	for _, g := range gtins {
		if g, err := NormalizeGTIN(g); err == nil {
			if _, dup := m.byGTIN[g]; dup {
				m.byGTIN[g] = -1
			} else {
				m.byGTIN[g] = i
			}
		}
	}
}

// addAliases maps SKU i's normalised aliases to it; an alias another SKU
// claims too maps to -1.
func (b *matcherBuilder) addAliases(i int, aliases []string) {
	m := b.m
	for _, a := range aliases {
		key := Normalize(a)
		if key == "" {
			continue
		}
		if j, dup := m.aliases[key]; dup && j != i {
			m.aliases[key] = -1
		} else {
			m.aliases[key] = i
		}
	}
}

// addBrand files SKU i under its brand (one brandInfo per distinct list of
// brand words) and returns the brand's words, which its name then skips.
func (b *matcherBuilder) addBrand(i int, brand string) map[string]bool {
	m := b.m
	var bwords [][]rune
	bset := map[string]bool{}
	for _, t := range tokenize(brand) {
		if t.kind == tokWord {
			bwords = append(bwords, []rune(t.text))
			bset[t.text] = true
		}
	}
	bkey := fmt.Sprint(bwords)
	bi, ok := b.brandIdx[bkey]
	if !ok && len(bwords) > 0 {
		bi = len(m.brands)
		b.brandIdx[bkey] = bi
		strs := make([]string, len(bwords))
		for k, w := range bwords {
			strs[k] = string(w)
		}
		m.brands = append(m.brands, brandInfo{words: bwords, strs: strs})
	}
	if len(bwords) > 0 {
		m.brands[bi].skus = append(m.brands[bi].skus, i)
	}
	return bset
}

// addName reads SKU i's name, outside and inside brackets: product words
// (not the brand's, noise, packaging or negative words) wait in b.pend for
// the vocabulary; codes, article codes and sizes go to the SKU.
func (b *matcherBuilder) addName(i int, name string, brandWords map[string]bool) {
	info := &b.m.skus[i]
	outside, inside := splitBrackets(name)
	for pass, text := range []string{outside, inside} {
		for _, t := range tokenize(text) {
			switch t.kind {
			case tokWord:
				if brandWords[t.text] || noiseWords[t.text] || packagingWords[t.text] || negativeWords[t.text] {
					continue
				}
				if pass == 0 {
					b.pend[i].words = append(b.pend[i].words, t.text)
				} else {
					b.pend[i].paren = append(b.pend[i].paren, t.text)
				}
			case tokCode:
				info.codes[t.text] = true
				if t.article {
					b.articleCount[t.text]++
					b.m.artFams[t.family] = true
				}
			case tokSize:
				info.sizes = append(info.sizes, t.size)
			}
		}
	}
}

// groupCodeFamilies gives every SKU the code families its client-and-
// category group uses.
func (b *matcherBuilder) groupCodeFamilies() {
	for _, members := range b.groups {
		fams := map[string]bool{}
		for _, i := range members {
			for c := range b.m.skus[i].codes {
				fams[codeFamily(c)] = true
			}
		}
		for _, i := range members {
			b.m.skus[i].groupFams = fams
		}
	}
}

// indexArticles maps each article code that only one SKU carries to it.
func (b *matcherBuilder) indexArticles() {
	m := b.m
	for i := range m.skus {
		for c := range m.skus[i].codes {
			if b.articleCount[c] == 1 {
				m.byArticle[c] = i
			}
		}
	}
}

// wordID returns the vocabulary id of w, adding it (and to its first
// rune's bucket) when new.
func (b *matcherBuilder) wordID(w string) int {
	m := b.m
	if id, ok := m.vocabIdx[w]; ok {
		return id
	}
	id := len(m.vocab)
	m.vocabIdx[w] = id
	m.vocab = append(m.vocab, vword{text: w, runes: utf8.RuneCountInString(w), skus: newBitset(len(m.skus))})
	r, _ := utf8.DecodeRuneInString(w)
	m.buckets[r] = append(m.buckets[r], id)
	return id
}

// buildVocabulary turns the pending name words into vocabulary ids: each
// SKU's words (outside brackets) and allWords (with the bracketed ones),
// each id once, and the words its name words imply.
func (b *matcherBuilder) buildVocabulary() {
	m := b.m
	for i := range b.pend {
		info := &m.skus[i]
		seen := map[int]bool{}
		for _, w := range b.pend[i].words {
			id := b.wordID(w)
			m.vocab[id].skus.set(i)
			if !seen[id] {
				info.words = append(info.words, id)
				info.allWords = append(info.allWords, id)
				seen[id] = true
			}
		}
		for _, w := range b.pend[i].paren {
			id := b.wordID(w)
			m.vocab[id].skus.set(i)
			if !seen[id] {
				info.allWords = append(info.allWords, id)
				seen[id] = true
			}
		}
		for _, w := range b.pend[i].words {
			info.implied = append(info.implied, impliedWords[w]...)
		}
	}
}

// splitBrackets separates the text outside round brackets from the text
// inside them ("(жестяная банка 425 мл)", "(ВАЗ 2101–2112)").
func splitBrackets(s string) (outside, inside string) {
	var o, in strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
			o.WriteRune(' ')
		case r == ')' && depth > 0:
			depth--
			in.WriteRune(' ')
		case depth > 0:
			in.WriteRune(r)
		default:
			o.WriteRune(r)
		}
	}
	return o.String(), in.String()
}

// WithAlias returns a new Matcher that also maps alias (a receipt spelling the
// client confirmed) to the SKU skuID. The receiver is unchanged. It fails when
// skuID is not in the catalog, the alias normalises to nothing, or another SKU
// already holds the alias.
func (m *Matcher) WithAlias(skuID, alias string) (*Matcher, error) {
	key := Normalize(alias)
	if key == "" {
		return nil, fmt.Errorf("alias %q is empty after normalisation", alias)
	}
	idx := -1
	for i, s := range m.src {
		if s.ID == skuID {
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("sku %q is not in the catalog", skuID)
	}
	if j, ok := m.aliases[key]; ok && j != idx {
		return nil, fmt.Errorf("alias %q already belongs to another SKU", alias)
	}
	skus := append([]SKU(nil), m.src...)
	skus[idx].Aliases = append(append([]string(nil), skus[idx].Aliases...), alias)
	return NewMatcher(skus), nil
}

// lineWord is one product word of a line after the lexicon.
type lineWord struct {
	text   string
	dotted bool
	runes  int
	skus   bitset // SKUs holding a word this one matches
	vids   []int  // the catalog words it matches
	known  bool   // it matches some catalog word
	pack   bool   // it also abbreviates a packaging word (стекл., жест.): never a conflict
}

// Match maps one printed receipt line, and the GTIN from its marking code if
// the receipt has one (empty otherwise), to at most one SKU. The order is
// GTIN, exact alias, normalised name; see docs/matching.md.
func (m *Matcher) Match(line, gtin string) Result {
	if gtin = strings.TrimSpace(gtin); gtin != "" {
		if g, err := NormalizeGTIN(gtin); err == nil {
			if i, ok := m.byGTIN[g]; ok && i >= 0 {
				return Result{SKUID: m.skus[i].id, How: HowGTIN}
			}
			return Result{How: HowNone, Reason: ReasonGTINNotOurs}
		}
		// a damaged code: let the name decide
	}
	toks := tokenize(line)
	if len(m.aliases) > 0 {
		if i, ok := m.aliases[settle(normalizeTokens(toks))]; ok && i >= 0 {
			return Result{SKUID: m.skus[i].id, How: HowAlias}
		}
	}
	return m.matchName(toks)
}

// matchName matches a line by its words, in steps: a line that is no sale,
// the brands on it (or our article code without one), what its other
// tokens say, the candidates that survive the article codes, the one
// candidate that fits, and the bare numbers it must not contradict. The
// token loop stays here: the slices it fills live in this frame, off the
// heap (BenchmarkMatchReceipt counts the allocations, docs/matching.md).
func (m *Matcher) matchName(toks []token) Result {
	if len(toks) == 0 {
		return none(ReasonEmpty)
	}
	// "Скидка Кетчуп Т.Марфа …", "Доставка …": a line that starts with a
	// discount or service word is no sale of the product it names.
	if t := toks[0]; t.kind == tokWord && notItemStems.has(lineWord{text: t.text, dotted: t.dotted, runes: utf8.RuneCountInString(t.text)}) {
		return none(ReasonNotAnItem)
	}
	brandTok := make([]bool, len(toks))
	cands := newBitset(len(m.skus))
	m.brandCandidates(cands, toks, brandTok)
	brandOnLine := !cands.empty()
	if !brandOnLine {
		if reason := brandlessReason(toks); reason != "" {
			return none(reason)
		}
	}
	var (
		wp       wordParts
		codes    []token
		sizes    []size
		bare     []int64 // numbers without a unit that look like sizes the till left bare, in thousandths of g/ml/mm
		articles []int
	)
	for ti, t := range toks {
		if brandTok[ti] {
			continue
		}
		switch t.kind {
		case tokWord:
			if !m.addWord(&wp, t.text, t.dotted) {
				return none(ReasonExcludedOffer)
			}
		case tokNum:
			// (a number before the name is the shop's code, not a size)
			if b, ok := bareSize(t.text); ok && ti > 0 {
				bare = append(bare, b)
			}
		case tokCode:
			if t.article {
				if i, ok := m.byArticle[t.text]; ok {
					articles = append(articles, i)
				} else if m.artFams[t.family] {
					return none(ReasonCodeNotOurs)
				}
			}
			codes = append(codes, t)
		case tokSize:
			if t.size.dim != dimCount {
				sizes = append(sizes, t.size)
			}
		}
	}
	if reason := m.narrowByArticles(cands, articles); reason != "" {
		return none(reason)
	}
	var art bitset
	if len(articles) > 0 {
		art = newBitset(len(m.skus))
		art.setAll(articles)
	}
	lc := lineCtx{words: wp.words, unknown: wp.unknown, codes: codes, sizes: sizes,
		brand: brandOnLine, articles: art, crossRef: wp.crossRef}
	found, reason := m.pickCandidate(cands, &lc)
	if found < 0 {
		return none(reason)
	}
	if !m.skus[found].fitsBareSizes(bare) {
		return none(ReasonSizeMismatch)
	}
	return Result{SKUID: m.skus[found].id, How: HowName}
}

// brandCandidates adds the SKUs of every brand on the line to cands and
// marks the tokens that spell a brand in brandTok.
func (m *Matcher) brandCandidates(cands bitset, toks []token, brandTok []bool) {
	forms := make([][]rune, len(toks)) // filled here, not returned: it stays off the heap
	wordForms(forms, toks)
	for bi := range m.brands {
		if m.findBrand(bi, toks, forms, brandTok) {
			for _, i := range m.brands[bi].skus {
				cands.set(i)
			}
		}
	}
}

// wordForms sets forms[i] to the runes of word toks[i], or to its Cyrillic
// transliteration if it is Latin (nil for tokens that are not words).
func wordForms(forms [][]rune, toks []token) {
	for ti, t := range toks {
		if t.kind != tokWord {
			continue
		}
		if t.text != "" && t.text[0] < utf8.RuneSelf {
			if tl := translit(t.text); tl != "" {
				forms[ti] = []rune(tl)
				continue
			}
		}
		forms[ti] = []rune(t.text)
	}
}

// brandlessReason decides a line without any of our brands: most lines of a
// receipt are not ours, so without a brand only one of our article codes
// can make a match and the word lookups are skipped. It returns "" when the
// line carries an article code and must be read on.
func brandlessReason(toks []token) string {
	article, negative := false, false
	for _, t := range toks {
		article = article || (t.kind == tokCode && t.article)
		negative = negative || (t.kind == tokWord && negativeWords[t.text])
	}
	switch {
	case article:
		return ""
	case negative:
		return ReasonExcludedOffer
	default:
		return ReasonNoBrand
	}
}

// wordParts is what addWord files from the words of a line.
type wordParts struct {
	words    []lineWord
	unknown  []lineWord // content words the catalog does not know
	crossRef bool       // "аналог", "замена": a foreign part cross-referenced to ours
}

// addWord files one word (or one part of a slash abbreviation) of the line;
// it reports false when the word makes the line an excluded offer.
func (m *Matcher) addWord(lp *wordParts, text string, dotted bool) bool {
	if noiseWords[text] || packagingWords[text] {
		return true
	}
	if negativeWords[text] {
		return false
	}
	if exp, ok := receiptSynonyms[text]; ok {
		for _, w := range exp {
			lp.words = append(lp.words, m.lookupWord(w, false))
		}
		return true
	}
	w := m.lookupWord(text, dotted)
	w.pack = packagingStems.has(w)
	if w.known {
		lp.words = append(lp.words, w)
		return true
	}
	if exp := synonymByStem(w); exp != nil {
		for _, e := range exp {
			lp.words = append(lp.words, m.lookupWord(e, false))
		}
		return true
	}
	if w.pack || neutralStems.has(w) {
		return true
	}
	if crossRefStems.has(w) {
		lp.crossRef = true
	}
	if before, after, ok := strings.Cut(text, "/"); ok {
		return m.addSlashWord(lp, w, before, after)
	}
	if w.runes >= 3 {
		lp.unknown = append(lp.unknown, w)
	}
	return true
}

// addSlashWord files w, an unknown word with a slash (before/after); it
// reports false when a part makes the line an excluded offer.
func (m *Matcher) addSlashWord(lp *wordParts, w lineWord, before, after string) bool {
	if before == "б" {
		// б/ is "без": б/карк is бескаркасная; б/сах ("без
		// сахара") names no catalog word, so it is an unknown
		// variant, never the сахарная of its second part
		for _, pre := range []string{"бес", "без"} {
			if bw := m.lookupWord(pre+after, true); bw.known {
				lp.words = append(lp.words, bw)
				return true
			}
		}
		lp.unknown = append(lp.unknown, w)
		return true
	}
	// an unknown slash abbreviation is read part by part: д/детей
	// is "для детей", д/ручн "для ручной"; one- and two-letter
	// parts (prepositions, пл/уп) say nothing
	for _, part := range []string{before, after} {
		if utf8.RuneCountInString(part) >= 3 && !strings.ContainsRune(part, '/') && !m.addWord(lp, part, false) {
			return false
		}
	}
	return true
}

// setAll sets every index of is.
func (b bitset) setAll(is []int) {
	for _, i := range is {
		b.set(i)
	}
}

// narrowByArticles keeps, of the brand's candidates, those whose article
// code is on the line (all of them when the line names none); a brandless
// line that names our article code gets its SKUs as candidates. It narrows
// cands in place and returns a reason when no candidate is left.
func (m *Matcher) narrowByArticles(cands bitset, articles []int) string {
	if len(articles) > 0 {
		art := newBitset(len(m.skus))
		art.setAll(articles)
		if cands.empty() {
			copy(cands, art) // a brandless line that names our article code
		} else {
			for k := range cands {
				cands[k] &= art[k]
			}
			if cands.empty() {
				return ReasonCodeNotOurs
			}
		}
	}
	if cands.empty() {
		return ReasonNoBrand
	}
	return ""
}

// pickCandidate returns the one candidate that fits the line, or -1 and
// the reason of the closest miss (ReasonAmbiguous when two fit).
func (m *Matcher) pickCandidate(cands bitset, lc *lineCtx) (int, string) {
	matchedVocab := newBitset(len(m.vocab))
	for _, w := range lc.words {
		for _, id := range w.vids {
			matchedVocab.set(id)
		}
	}
	found, bestEvidence := -1, -1
	reason := ReasonNoCandidate
	for i := 0; i < len(m.skus); i++ {
		if !cands.has(i) {
			continue
		}
		ok, why, evidence := m.fits(i, lc, matchedVocab)
		if ok {
			if found >= 0 {
				return -1, ReasonAmbiguous
			}
			found = i
			continue
		}
		if evidence > bestEvidence || (evidence == bestEvidence && reasonRank[why] > reasonRank[reason]) {
			bestEvidence, reason = evidence, why
		}
	}
	return found, reason
}

// fitsBareSizes reports whether the SKU agrees with the bare numbers of the
// line. A bare three-digit number (or a decimal below 10, as kg or l) is
// most likely the pack size printed without its unit. It never picks a SKU
// (680 does not choose the 680 г peas over the 400 г ones), but the one SKU
// left must not contradict it.
func (s *skuInfo) fitsBareSizes(bare []int64) bool {
	if s.perPiece {
		return true
	}
	for _, b := range bare {
		if !s.hasSizeMilli(b) {
			return false
		}
	}
	return true
}

// lineCtx is what matchName read from a line, for fits.
type lineCtx struct {
	words    []lineWord
	unknown  []lineWord // content words no catalog word and no lexicon entry matches
	codes    []token
	sizes    []size
	brand    bool   // one of our brands is on the line
	articles bitset // SKUs whose article code is on the line (nil: none)
	crossRef bool   // "аналог", "замена": a foreign part cross-referenced to ours
}

// reasonRank breaks ties between equally close candidates: a SKU that failed
// only on an unknown word passed everything else, sizes included.
var reasonRank = map[string]int{ReasonNoCandidate: 0, ReasonUnknownProduct: 1, ReasonVariant: 2, ReasonSizeMismatch: 3, ReasonUnknownWord: 4}

func none(reason string) Result { return Result{How: HowNone, Reason: reason} }

// fits checks one candidate SKU against the line: every variant code and size
// on the line must be the SKU's, no word may name another product or variant,
// at least one word or code must name this product, and the line may carry no
// word the catalog does not know (a flavour or variant we do not hold, another
// maker's name) unless the SKU's own name implies it (чили → острый) or our
// brand and the SKU's own article code pin the product (a car model next to a
// filter's article). evidence counts the words and codes that agree.
func (m *Matcher) fits(i int, lc *lineCtx, matchedVocab bitset) (bool, string, int) {
	s := &m.skus[i]
	evidence := 0
	conflict := ""
	for _, c := range lc.codes {
		switch {
		case s.codes[c.text]:
			evidence++
		case s.groupFams[c.family]:
			conflict = ReasonVariant
		}
	}
	for _, w := range lc.words {
		switch {
		case w.skus != nil && w.skus.has(i):
			evidence++
		case w.pack:
			// a packaging note that also abbreviates some product word
		case w.known:
			conflict = ReasonVariant
		}
	}
	if conflict != "" {
		return false, conflict, evidence
	}
	// A piece-sold SKU (a filter) takes no mass, volume or length on its line.
	for _, sz := range lc.sizes {
		if s.perPiece || !s.acceptsSize(sz) {
			return false, ReasonSizeMismatch, evidence
		}
	}
	if evidence == 0 {
		return false, ReasonNoCandidate, evidence
	}
	unknown := 0
	latin := false
	for _, w := range lc.unknown {
		if !s.implies(w) {
			unknown++
			latin = latin || w.text[0] < utf8.RuneSelf
		}
	}
	if unknown == 0 {
		return true, "", evidence
	}
	named := true
	for _, id := range s.words {
		if !matchedVocab.has(id) {
			named = false
			break
		}
	}
	if lc.articles != nil && lc.articles.has(i) {
		// The line names the SKU's own article code. With our brand the
		// product is pinned and the extra words are applicability (Нива,
		// Солярис). Without it, a cross-reference ("аналог ВФМ-101") or a
		// Latin maker's name (MANN) means someone else's part.
		if lc.brand || (named && !lc.crossRef && !latin) {
			return true, "", evidence
		}
	}
	if !named {
		return false, ReasonUnknownProduct, evidence
	}
	return false, ReasonUnknownWord, evidence
}

// implies reports whether the SKU's name already says what the line word
// adds (an "острый" on a chili ketchup).
func (s *skuInfo) implies(w lineWord) bool {
	for _, iw := range s.implied {
		if wordMatch(w.text, w.runes, w.dotted, iw, utf8.RuneCountInString(iw)) {
			return true
		}
	}
	return false
}

// bareSize reads a number printed without a unit as a pack size, in
// thousandths of g, ml or mm: three digits (300 → 300 г/мл/мм) or a decimal
// below 10 (0,5 → 0,5 кг/л). Other numbers (1/24, 2107, 15) are not sizes.
func bareSize(num string) (int64, bool) {
	if len(num) == 3 && num[0] != '0' && allDigits([]rune(num)) {
		return int64(num[0]-'0')*100000 + int64(num[1]-'0')*10000 + int64(num[2]-'0')*1000, true
	}
	if !strings.ContainsAny(num, ".,") {
		return 0, false
	}
	v, err := parseMilli(num, 3)
	if err != nil || v == 0 || v >= 10000 {
		return 0, false
	}
	return v * 1000, true
}

// hasSizeMilli reports whether a size of milli thousandths of g, ml or mm is
// one the SKU may be printed with.
func (s *skuInfo) hasSizeMilli(milli int64) bool {
	for _, a := range s.sizes {
		if a.milli == milli {
			return true
		}
	}
	return false
}

// stemSet is a lexicon word list looked up by stem, bucketed by first rune.
type stemSet map[rune][]stem

type stem struct {
	text  string
	runes int
}

func newStemSet(words ...string) stemSet {
	set := stemSet{}
	for _, w := range words {
		r, _ := utf8.DecodeRuneInString(w)
		set[r] = append(set[r], stem{w, utf8.RuneCountInString(w)})
	}
	return set
}

// has reports whether a line word is one of the words or another ending or
// abbreviation of one (жест. → жестяная, готовая → готовый).
func (set stemSet) has(w lineWord) bool {
	r, _ := utf8.DecodeRuneInString(w.text)
	for _, st := range set[r] {
		if w.text == st.text || wordMatch(w.text, w.runes, w.dotted, st.text, st.runes) {
			return true
		}
	}
	return false
}

func (s *skuInfo) acceptsSize(sz size) bool {
	for _, a := range s.sizes {
		if a == sz {
			return true
		}
	}
	return false
}

// lookupWord finds the catalog words a line word matches.
func (m *Matcher) lookupWord(text string, dotted bool) lineWord {
	w := lineWord{text: text, dotted: dotted, runes: utf8.RuneCountInString(text)}
	r, _ := utf8.DecodeRuneInString(text)
	for _, id := range m.buckets[r] {
		v := &m.vocab[id]
		if wordMatch(text, w.runes, dotted, v.text, v.runes) {
			if w.skus == nil {
				w.skus = newBitset(len(m.skus))
			}
			w.skus.or(v.skus)
			w.vids = append(w.vids, id)
			w.known = true
		}
	}
	return w
}

// synonymByStem finds a lexicon entry for another ending of a word
// (омывателя → омыватель). Only words the catalog does not know are tried.
func synonymByStem(w lineWord) []string {
	if w.runes < 5 {
		return nil
	}
	for _, key := range synonymKeys {
		kr := utf8.RuneCountInString(key)
		if kr >= 5 && wordMatch(w.text, w.runes, w.dotted, key, kr) {
			return receiptSynonyms[key]
		}
	}
	return nil
}

// synonymKeys lists the lexicon in a fixed order so stem lookups are
// deterministic.
var synonymKeys = func() []string {
	keys := make([]string, 0, len(receiptSynonyms))
	for k := range receiptSynonyms {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}()

// wordMatch reports whether a line word stands for a catalog word: the same
// word, an abbreviation of it (a prefix of three or more letters, or two with a
// dot: "кр."), or another ending of the same stem (зимн/зимний/зимняя,
// полусинтетика/полусинтетическое).
func wordMatch(lw string, lr int, dotted bool, cw string, cr int) bool {
	if lw == cw {
		return true
	}
	cp := commonPrefixRunes(lw, cw)
	if cp == lr && lr < cr {
		return lr >= 3 || (dotted && lr >= 2)
	}
	short, long := lr, cr
	if short > long {
		short, long = long, short
	}
	return cp >= 4 && cp >= short-2 && cp >= long-6
}

func commonPrefixRunes(a, b string) int {
	n := 0
	for a != "" && b != "" {
		ra, sa := utf8.DecodeRuneInString(a)
		rb, sb := utf8.DecodeRuneInString(b)
		if ra != rb {
			break
		}
		n++
		a, b = a[sa:], b[sb:]
	}
	return n
}

// findBrand reports whether brand bi is on the line and marks its tokens.
// A brand word matches exactly, with one typo (Damerau distance 1, words of
// five letters or more), as a dotted abbreviation of three letters or more
// that abbreviates no catalog product word (ТЕРМ., ВЕТЛ.), or spelled in Latin
// transliteration. The first words of a multi-word brand may be cut to any
// prefix when the next brand word follows (Т.МАРФА, ТЕТ.МАРФА).
func (m *Matcher) findBrand(bi int, toks []token, forms [][]rune, used []bool) bool {
	b := &m.brands[bi]
	at := make([]int, len(b.words))
	for k := len(b.words) - 1; k >= 0; k-- {
		at[k] = -1
		for ti := range toks {
			t := &toks[ti]
			if t.kind != tokWord || used[ti] {
				continue
			}
			if m.brandWordMatch(t, forms[ti], b.words[k], b.strs[k]) {
				at[k] = ti
				break
			}
			if k < len(b.words)-1 && at[k+1] == ti+1 && strings.HasPrefix(b.strs[k], t.text) {
				at[k] = ti
				break
			}
		}
		if at[k] < 0 {
			return false
		}
	}
	for _, ti := range at {
		used[ti] = true
	}
	return true
}

// brandWordMatch compares one line word (tr: its runes, transliterated when
// Latin) with one brand word.
func (m *Matcher) brandWordMatch(t *token, tr []rune, bw []rune, bs string) bool {
	text := t.text
	if text == bs || runesEqual(tr, bw) {
		return true
	}
	if d := len(tr) - len(bw); d > 1 || d < -1 {
		if !t.dotted {
			return false
		}
	}
	if _, isVocab := m.vocabIdx[text]; isVocab {
		return false
	}
	if len(bw) >= 5 && len(tr) >= 5 && brandTypo(tr, bw) {
		return true
	}
	if t.dotted && len(tr) >= 3 && len(tr) < len(bw) && strings.HasPrefix(bs, text) {
		r, _ := utf8.DecodeRuneInString(text)
		for _, id := range m.buckets[r] {
			if strings.HasPrefix(m.vocab[id].text, text) {
				return false
			}
		}
		return true
	}
	return false
}

// brandTypo reports whether line word a is brand word b with one slip of the
// kind tills and hand-typed product cards make: two neighbours swapped
// (ТЕРОМКС), a doubled letter (ТЕРМОКСС) or a vowel or soft sign added or
// dropped (ТЕРМКС), or a letter confused with a near twin (а/о, е/и/э, и/ы/й,
// ы/ь/ъ, у/ю, а/я: KRASNODOLYE → краснодолые). Any other single edit names a
// look-alike brand rather than a typo (Тётушка Марта, ТЕРМОС, Термекс,
// Ясновит, Краснополье are someone else's), and precision comes first.
func brandTypo(a, b []rune) bool {
	if !damerauAtMostOne(a, b) || runesEqual(a, b) {
		return false
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	switch {
	case len(a) == len(b):
		if i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && runesEqual(a[i+2:], b[i+2:]) {
			return true // swapped neighbours
		}
		return nearTwin(a[i], b[i])
	case len(a) > len(b):
		return slipLetter(a, i)
	default:
		return slipLetter(b, i)
	}
}

// slipLetter reports whether w[i], the letter one spelling has and the other
// lacks, is a vowel or soft sign or doubles a neighbour.
func slipLetter(w []rune, i int) bool {
	r := w[i]
	if strings.ContainsRune("аеиоуыэюяьъ", r) || strings.ContainsRune("aeiouy", r) {
		return true
	}
	return (i > 0 && w[i-1] == r) || (i+1 < len(w) && w[i+1] == r)
}

// nearTwin reports whether two letters are easily confused in spelling.
func nearTwin(x, y rune) bool {
	for _, g := range []string{"ао", "еиэ", "иыйь", "ыьъ", "ую", "ая", "ao", "ei", "iy", "uy"} {
		if strings.ContainsRune(g, x) && strings.ContainsRune(g, y) {
			return true
		}
	}
	return false
}

// damerauAtMostOne reports whether a and b differ by at most one insertion,
// deletion, substitution or swap of neighbours.
func damerauAtMostOne(a, b []rune) bool {
	la, lb := len(a), len(b)
	if la-lb > 1 || lb-la > 1 {
		return false
	}
	i := 0
	for i < la && i < lb && a[i] == b[i] {
		i++
	}
	if i == la && i == lb {
		return true
	}
	switch {
	case la == lb:
		if runesEqual(a[i+1:], b[i+1:]) {
			return true // substitution
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && runesEqual(a[i+2:], b[i+2:])
	case la > lb:
		return runesEqual(a[i+1:], b[i:])
	default:
		return runesEqual(a[i:], b[i+1:])
	}
}

func runesEqual(a, b []rune) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// latinDigraphs and latinLetters transliterate a Latin word to Cyrillic so a
// brand printed as VETLUGA or Termoks is still found.
var latinDigraphs = []struct{ from, to string }{
	{"shch", "щ"}, {"sch", "щ"}, {"zh", "ж"}, {"kh", "х"}, {"ts", "ц"}, {"ch", "ч"}, {"sh", "ш"},
	{"ya", "я"}, {"ia", "я"}, {"yu", "ю"}, {"iu", "ю"}, {"ye", "е"}, {"yo", "е"}, {"ks", "кс"},
}

var latinLetters = map[byte]string{
	'a': "а", 'b': "б", 'v': "в", 'g': "г", 'd': "д", 'e': "е", 'z': "з", 'i': "и", 'j': "й",
	'k': "к", 'l': "л", 'm': "м", 'n': "н", 'o': "о", 'p': "п", 'r': "р", 's': "с", 't': "т",
	'u': "у", 'f': "ф", 'h': "х", 'c': "к", 'w': "в", 'x': "кс", 'y': "ы", 'q': "к",
}

func translit(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		matched := false
		for _, d := range latinDigraphs {
			if strings.HasPrefix(s[i:], d.from) {
				b.WriteString(d.to)
				i += len(d.from)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		l, ok := latinLetters[s[i]]
		if !ok {
			return ""
		}
		b.WriteString(l)
		i++
	}
	return b.String()
}
