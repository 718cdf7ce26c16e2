"""Texts of the demo briefings in Dutch and English.

Each entry is ``(code, version number, locale) -> (title, body, change summary)``.
The Dutch texts are the originals; the English ones are translations.
"""

_CALL_NL = """## Wie belt u?

- Huismeester Henk Bakker: [010 123 45 67](tel:+31101234567), op werkdagen van
  8.00 tot 16.30 uur.
- Buiten kantoortijd bij schade of gevaar: storingslijn
  [0800 123 45 67](tel:+318001234567).
- Bij een ongeluk: bel eerst [112](tel:112).
"""

_CALL_EN = """## Whom to call

- Caretaker Henk Bakker: [010 123 45 67](tel:+31101234567), on working days from
  8.00 to 16.30.
- Outside office hours, for damage or danger: emergency line
  [0800 123 45 67](tel:+318001234567).
- After an accident: call [112](tel:112) first.
"""

_INSURANCE_TAX_NL = """## Verzekering

Woonstichting De Klusbank heeft een vrijwilligersverzekering. Die dekt
ongevallen en schade aan anderen tijdens het werk, als u zich aan deze
instructie houdt. Uw eigen aansprakelijkheidsverzekering blijft daarnaast
gelden. De corporatie blijft verantwoordelijk voor een veilige werkplek.

## Beloning en belasting

Voor uw werk krijgt u kluspunten. Die worden huurkorting of een uitbetaling.
Een uitbetaling telt waarschijnlijk als inkomen voor de Belastingdienst en kan
gevolgen hebben voor een uitkering of toeslag. Twijfelt u? Vraag het na voordat
u voor uitbetaling kiest.
"""

_INSURANCE_TAX_EN = """## Insurance

Woonstichting De Klusbank has a volunteer insurance. It covers accidents and
damage to others during the work, as long as you follow this briefing. Your own
liability insurance also still applies. The corporation remains responsible for
a safe place to work.

## Rewards and tax

You earn chore points for your work. They become rent credit or a payout. A
payout most likely counts as income for the tax office and can affect a benefit
or allowance. If in doubt, ask before you choose a payout.
"""

_GARDEN_V1_NL = """Fijn dat u meehelpt aan een mooie buitenruimte. Lees deze instructie
goed, zodat het werk veilig blijft voor u en uw buren.

## Wat u wel doet

- Draag stevige schoenen en de tuinhandschoenen die u van de huismeester krijgt.
- Gebruik alleen gereedschap uit de gereedschapskist van het complex: hark,
  schoffel, snoeischaar, grijper en vuilniszakken.
- Werk bij daglicht. Stop bij onweer, gladheid of harde wind.
- Meld gevaarlijke dingen, zoals naalden, glas of een losse stoeptegel, direct
  bij de huismeester en raak ze niet aan.

## Wat u niet doet

- Geen ladders of trapjes hoger dan **2,5 meter**.
- Niet werken aan buitenlampen, stopcontacten, pompen of andere elektrische
  installaties.
- Geen bestrijdingsmiddelen gebruiken.
- Niet alleen werken aan de rand van de vijver.

"""


_GARDEN_V1_EN = """Thank you for helping to keep our outdoor spaces pleasant. Read this
briefing carefully, so the work stays safe for you and your neighbours.

## Do

- Wear sturdy shoes and the garden gloves the caretaker gives you.
- Use only tools from the complex's tool box: rake, hoe, pruning shears, litter
  picker and bin bags.
- Work in daylight. Stop in thunderstorms, on icy ground or in strong wind.
- Report dangerous things, such as needles, glass or a loose paving stone, to
  the caretaker at once and do not touch them.

## Do not

- No ladders or steps higher than **2.5 metres**.
- Do not work on outdoor lights, sockets, pumps or any other electrical
  installation.
- Do not use pesticides.
- Do not work alone at the edge of the pond.

"""

_GARDEN_V2_NL = _GARDEN_V1_NL.replace(
    "  bij de huismeester en raak ze niet aan.\n",
    "  bij de huismeester en raak ze niet aan.\n"
    "- Controleer na het werk uw huid op teken.\n",
).replace(
    "- Geen ladders of trapjes hoger dan **2,5 meter**.\n",
    "- Geen ladders of trapjes hoger dan **1,5 meter**. Snoeien boven\n"
    "  schouderhoogte laat u aan de hovenier over.\n"
    "- Geen motorgereedschap: geen bosmaaier, kettingzaag of heggenschaar op\n"
    "  benzine of stroom.\n",
)

_GARDEN_V2_EN = _GARDEN_V1_EN.replace(
    "  the caretaker at once and do not touch them.\n",
    "  the caretaker at once and do not touch them.\n"
    "- Check your skin for ticks after the work.\n",
).replace(
    "- No ladders or steps higher than **2.5 metres**.\n",
    "- No ladders or steps higher than **1.5 metres**. Leave pruning above shoulder\n"
    "  height to the gardener.\n"
    "- No power tools: no brush cutter, chainsaw or hedge trimmer, whether petrol or\n"
    "  electric.\n",
)


_REPAIRS_V1_NL = """Kleine reparaties in trappenhuizen, bergingen en andere gemeenschappelijke
ruimtes. Reparaties in uw eigen woning vallen hier niet onder.

## Wat u wel doet

- Gebruik alleen de klusbox van het complex: schroevendraaiers, inbussleutels,
  olie voor scharnieren, een accuboormachine en veiligheidsbril.
- Zet een pion of bordje neer als een gang of trap tijdelijk niet veilig is.
- Draag de veiligheidsbril bij boren en schroeven boven uw hoofd.

## Wat u niet doet

- Geen werk aan elektra: geen lampen, schakelaars, stopcontacten of de
  meterkast. Ook niet als de stroom eraf lijkt.
- Geen werk aan gas- of waterleidingen, het dak of de lift.
- Geen ladders of trapjes hoger dan **1,5 meter**.
- Niets aan brandwerende deuren, deurdrangers van vluchtwegen of
  rookmelders.

"""


_REPAIRS_V1_EN = """Small repairs in stairwells, storage rooms and other shared spaces.
Repairs inside your own home are not part of this.

## Do

- Use only the complex's repair kit: screwdrivers, hex keys, oil for hinges, a
  cordless drill and safety glasses.
- Put out a cone or sign when a corridor or stair is unsafe for a while.
- Wear the safety glasses when you drill, or drive screws above your head.

## Do not

- No electrical work: no lights, switches, sockets or the meter cupboard. Not
  even when the power seems to be off.
- No work on gas or water pipes, the roof or the lift.
- No ladders or steps higher than **1.5 metres**.
- Do not touch fire doors, door closers on escape routes, or smoke alarms.

"""

# Version 2 rewords two lines; the rules stay the same.
_REPAIRS_V2_NL = _REPAIRS_V1_NL.replace(
    "olie voor scharnieren, een accuboormachine en veiligheidsbril.",
    "olie voor scharnieren, een accuboormachine en een veiligheidsbril.",
).replace(
    "- Draag de veiligheidsbril bij boren en schroeven boven uw hoofd.",
    "- Draag de veiligheidsbril bij boren en bij schroeven boven uw hoofd.",
)

_STAIRS_V1_NL = """Schoonmaken van trappen, overlopen en entrees.

## Wat u wel doet

- Zet het bordje "Pas op, natte vloer" neer voordat u dweilt.
- Gebruik alleen de schoonmaakmiddelen uit de werkkast, in de dosering op het
  etiket. Meng nooit middelen.
- Draag de handschoenen uit de werkkast.
- Werk van boven naar beneden en houd de trapleuning vrij.

## Wat u niet doet

- Geen ramen of lampen zemen die u alleen met een ladder bereikt.
- Geen spullen in de vluchtroute zetten, ook niet even.
- Kapotte lampen of defecte deuren niet zelf repareren: meld ze bij de
  huismeester.

"""

_STAIRS_V1_EN = """Cleaning stairs, landings and entrances.

## Do

- Put out the "Caution, wet floor" sign before you mop.
- Use only the cleaning products from the store cupboard, in the dose on the
  label. Never mix products.
- Wear the gloves from the store cupboard.
- Work from top to bottom and keep the handrail clear.

## Do not

- Do not clean windows or lights that you can only reach with a ladder.
- Do not put anything on the escape route, not even for a moment.
- Do not repair broken lights or faulty doors yourself: report them to the
  caretaker.

"""

TEXTS = {
    ("tuin", 1, "nl"): (
        "Veilig werken in de tuin en buitenruimte",
        _GARDEN_V1_NL + _CALL_NL + "\n" + _INSURANCE_TAX_NL,
        "",
    ),
    ("tuin", 1, "en"): (
        "Working safely in the garden and outdoor areas",
        _GARDEN_V1_EN + _CALL_EN + "\n" + _INSURANCE_TAX_EN,
        "",
    ),
    ("tuin", 2, "nl"): (
        "Veilig werken in de tuin en buitenruimte",
        _GARDEN_V2_NL + _CALL_NL + "\n" + _INSURANCE_TAX_NL,
        "Ladders nu hoogstens 1,5 meter, motorgereedschap verboden, controle op "
        "teken toegevoegd.",
    ),
    ("tuin", 2, "en"): (
        "Working safely in the garden and outdoor areas",
        _GARDEN_V2_EN + _CALL_EN + "\n" + _INSURANCE_TAX_EN,
        "Ladders now at most 1.5 metres, power tools banned, tick check added.",
    ),
    ("klussen", 1, "nl"): (
        "Kleine reparaties in gemeenschappelijke ruimtes",
        _REPAIRS_V1_NL + _CALL_NL + "\n" + _INSURANCE_TAX_NL,
        "",
    ),
    ("klussen", 1, "en"): (
        "Small repairs in shared spaces",
        _REPAIRS_V1_EN + _CALL_EN + "\n" + _INSURANCE_TAX_EN,
        "",
    ),
    ("klussen", 2, "nl"): (
        "Kleine reparaties in gemeenschappelijke ruimtes",
        _REPAIRS_V2_NL + _CALL_NL + "\n" + _INSURANCE_TAX_NL,
        "Zinnen over de klusbox en elektra duidelijker geschreven; de regels zijn "
        "niet veranderd.",
    ),
    ("klussen", 2, "en"): (
        "Small repairs in shared spaces",
        _REPAIRS_V1_EN.replace(
            "when you drill, or drive screws",
            "when you drill and when you drive screws",
        )
        + _CALL_EN
        + "\n"
        + _INSURANCE_TAX_EN,
        "Sentences about the repair kit and electrics made clearer; the rules are "
        "unchanged.",
    ),
    ("trappenhuis", 1, "nl"): (
        "Schoonmaken van het trappenhuis",
        _STAIRS_V1_NL + _CALL_NL + "\n" + _INSURANCE_TAX_NL,
        "",
    ),
    ("trappenhuis", 1, "en"): (
        "Cleaning the stairwell",
        _STAIRS_V1_EN + _CALL_EN + "\n" + _INSURANCE_TAX_EN,
        "",
    ),
}
