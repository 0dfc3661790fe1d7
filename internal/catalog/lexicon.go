package catalog

// The receipt lexicon: the only hand-written matching knowledge. Everything
// else (product words, variants, sizes, brands) is derived from the catalog.
// Entries are general Russian till-receipt conventions, not spellings copied
// from any labelled line, so they hold for chains the matcher has not seen.
// Keys and values are in normalised form: lower case, ё folded to е.

// receiptSynonyms expands receipt shorthand and slang into catalog words.
var receiptSynonyms = map[string][]string{
	// slash abbreviations
	"п/с":    {"полусинтетическое"},
	"п/синт": {"полусинтетическое"},
	"п/сн":   {"полусинтетическое"},
	"с/с":    {"собственном", "соку"},
	"т/с":    {"томатном", "соусе"},
	"т/соус": {"томатном", "соусе"},
	"б/к":    {"бесконтактной"},
	"с/о":    {"стеклоочистителя"},
	"с/оч":   {"стеклоочистителя"},
	// washer fluid is sold under folk names
	"омывайка":        {"стеклоомывающая"},
	"незамерзайка":    {"стеклоомывающая"},
	"незамерзающая":   {"стеклоомывающая"},
	"незамерзающей":   {"стеклоомывающая"},
	"омыватель":       {"стеклоомывающая"},
	"стеклоомыватель": {"стеклоомывающая"},
	"омывающая":       {"стеклоомывающая"},
	"омыв":            {"стеклоомывающая"},
	"зима":            {"зимняя"},
	"лето":            {"летняя"},
	// wipers and car care
	"дворник":     {"щетка", "стеклоочистителя"},
	"дворники":    {"щетка", "стеклоочистителя"},
	"шампунь":     {"автошампунь"},
	"тж":          {"тормозная", "жидкость"},
	"т/ж":         {"тормозная", "жидкость"},
	"ж-ть":        {"жидкость"},
	"жид-ть":      {"жидкость"},
	"жидк-ть":     {"жидкость"},
	"ож":          {"антифриз"},
	"охлаждающая": {"антифриз"},
}

// plusWords turn the preceding variant code into its "+" form: G12 PLUS → g12+.
var plusWords = map[string]bool{"plus": true, "плюс": true}

// packagingWords describe the pack, not the product. They never reject a SKU:
// receipts print them inconsistently, and sizes already tell packs apart.
var packagingWords = map[string]bool{
	"д/п": true, "дой-пак": true, "дойпак": true, "дой": true, "пак": true, "doy-pack": true,
	"ст/б": true, "ст/бан": true, "ж/б": true, "ж/бан": true, "пл/б": true, "пэт": true, "pet": true,
	"стеклянная": true, "стекло": true, "ст": true, "жестяная": true, "жесть": true, "банка": true, "бан": true,
	"бутылка": true, "бут": true, "канистра": true, "кан": true, "канист": true, "туба": true,
	"уп": true, "упак": true, "упаковка": true, "флакон": true, "фл": true,
}

// packagingStems are packaging words also recognised by another ending or
// as an abbreviation (стекл., жест., пласт.): such a word never rejects a SKU
// and is not an unknown word, even when it also abbreviates a product word
// of another SKU (стекл. = стеклоомывающая).
var packagingStems = newStemSet(
	"стекло", "стеклянная", "жесть", "жестяная", "банка", "бутылка", "канистра", "упаковка", "флакон",
	"пакет", "пачка", "коробка", "пластик", "пластиковая", "дойпак", "тетрапак", "ведро", "ведерко",
)

// neutralStems are words a till may add to a fully named product without
// naming a variant: "ready to use" (the catalog's antifreeze and washer fluid
// are ready-mixed; concentrates are negative words), oil standard names
// (the class after them is a two-letter code), "со вкусом" (the flavour
// after it still counts), the origin, company-form and standard
// boilerplate, net mass, and promo markers in other endings. Found by stem.
var neutralStems = newStemSet(
	"готовый", "sae", "api", "acea", "гост", "вкус", "пр-во", "произв", "изготовитель",
	"ооо", "оао", "зао", "пао", "нетто", "масса", "объем", "штука",
	"акция", "выгода", "скидка", "бонус", "спеццена", "суперцена", "распродажа", "промо",
)

// crossRefStems mark a foreign part listed against one of our article
// codes ("аналог ВФМ-101", "замена"): without our brand such a line is not
// our product.
var crossRefStems = newStemSet("аналог", "замена", "взамен", "заменитель", "совместимый")

// impliedWords: a catalog product word that already says what a till may
// add as a word of its own (a chili ketchup is hot). The added word is then
// no unknown variant for that SKU; on any other SKU it still is. Found by
// stem (остр., острая).
var impliedWords = map[string][]string{
	"чили":      {"острый"},
	"халапеньо": {"острый"},
}

// noiseWords carry no product meaning: promo markers, prepositions, origin
// and till boilerplate. They are dropped before matching.
var noiseWords = map[string]bool{
	"акция": true, "выгодно": true, "скидка": true, "хит": true, "новинка": true, "new": true,
	"цена": true, "суперцена": true, "промо": true, "распродажа": true, "спеццена": true, "sale": true,
	"для": true, "в": true, "во": true, "с": true, "со": true, "и": true, "на": true, "по": true,
	"из": true, "от": true, "к": true, "шт": true, "штук": true, "вес": true, "весовой": true,
	"россия": true, "рф": true, "м": true, "арт": true, "артикул": true, "код": true, "товар": true,
	"г": true, "гр": true, "кг": true, "л": true, "мл": true, "мм": true, "см": true,
}

// notItemStems open a line that is not a sale of the goods it names: a
// discount, coupon or bonus line, a service ("Скидка Кетчуп Т.Марфа 300г",
// "Доставка", "Установка щетки"). Only the first word counts: later in a line
// "скидка" is a promo marker. Found by stem.
var notItemStems = newStemSet(
	"скидка", "скидки", "дисконт", "купон", "промокод", "бонус", "возврат", "доставка", "услуга",
	"установка", "замена", "монтаж", "работа", "сервис", "обслуживание",
)

// articleWords introduce the shop's own article number ("арт. 123"), which is
// dropped with them.
var articleWords = map[string]bool{"арт": true, "артикул": true, "код": true}

// negativeWords mark an offer the catalog never holds as such even when the
// brand and product are ours (README rule 4): gift sets, concentrates, oil
// sold from bulk, samples. A line with one of them is never matched by name.
var negativeWords = map[string]bool{
	"набор": true, "подарочный": true, "подарок": true, "концентрат": true, "конц": true,
	"розлив": true, "разлив": true, "пробник": true, "тестер": true, "б/у": true, "уценка": true,
}

// massByVolumeCategories are categories whose goods the catalog lists by mass
// while tills may print the same canister in litres (ТЕРМОКС antifreeze and
// тосол: a "5л" line is the 5 кг canister). Category names are normalised.
var massByVolumeCategories = map[string]bool{"антифриз": true}

// units maps a printed unit to its dimension and the factor to the dimension's
// base unit (g, ml, mm, piece).
var units = map[string]struct {
	dim    dimension
	factor int64
}{
	"г": {dimMass, 1}, "гр": {dimMass, 1}, "грамм": {dimMass, 1}, "граммов": {dimMass, 1}, "g": {dimMass, 1}, "gr": {dimMass, 1},
	"кг": {dimMass, 1000}, "kg": {dimMass, 1000},
	"мл": {dimVolume, 1}, "ml": {dimVolume, 1},
	"л": {dimVolume, 1000}, "l": {dimVolume, 1000}, "лт": {dimVolume, 1000}, "литр": {dimVolume, 1000},
	"литра": {dimVolume, 1000}, "литров": {dimVolume, 1000}, "ltr": {dimVolume, 1000}, "lt": {dimVolume, 1000},
	"мм": {dimLength, 1}, "mm": {dimLength, 1}, "см": {dimLength, 10}, "cm": {dimLength, 10}, "м": {dimLength, 1000},
	"шт": {dimCount, 1},
}
