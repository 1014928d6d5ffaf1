"""Reference pools the synthetic population is drawn from: names, places, domains, routes.

Plain data only. Accented names are kept on purpose: systems disagree on accents, and the
identity-resolution stage has to cope with that.
"""

from __future__ import annotations

# Home countries and their weights: mostly French customers, some European and US ones.
COUNTRY_WEIGHTS = (("FR", 70), ("DE", 8), ("ES", 7), ("GB", 7), ("IT", 5), ("US", 3))

FIRST_NAMES = {
    "FR": (("Jean", "Pierre", "Nicolas", "François", "Jérôme", "Benoît", "Théo", "Raphaël",
            "Lucas", "Thomas", "Julien", "Mathieu", "Sébastien", "Hugo", "Noël", "Antoine",
            "Frédéric", "Stéphane", "Olivier", "Maël"),
           ("Marie", "Sophie", "Camille", "Élodie", "Hélène", "Céline", "Amélie", "Chloé",
            "Léa", "Zoé", "Julie", "Emma", "Gaëlle", "Manon", "Inès", "Anaïs", "Mélanie",
            "Aurélie", "Valérie", "Clémence")),
    "DE": (("Lukas", "Jonas", "Jürgen", "Günther", "Maximilian", "Felix", "Stefan", "Matthias"),
           ("Anna", "Lena", "Sabine", "Katrin", "Julia", "Sophie", "Birgit", "Hannah")),
    "ES": (("José", "Antonio", "Javier", "Sergio", "Álvaro", "Andrés", "Raúl", "Pablo"),
           ("María", "Carmen", "Lucía", "Marta", "Inés", "Sofía", "Laura", "Elena")),
    "GB": (("Oliver", "George", "Harry", "Jack", "James", "William", "Thomas", "Charlie"),
           ("Amelia", "Isla", "Emily", "Poppy", "Sophie", "Olivia", "Grace", "Charlotte")),
    "IT": (("Francesco", "Alessandro", "Lorenzo", "Matteo", "Niccolò", "Andrea", "Marco", "Luca"),
           ("Giulia", "Sofia", "Aurora", "Chiara", "Beatrice", "Francesca", "Martina", "Elena")),
    "US": (("Liam", "Noah", "Ethan", "Mason", "Logan", "Michael", "Daniel", "Ryan"),
           ("Olivia", "Emma", "Ava", "Sophia", "Mia", "Madison", "Abigail", "Emily")),
}

LAST_NAMES = {
    "FR": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
           "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
           "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier",
           "Dupont", "Lambert", "Bonnet", "François", "Legrand", "Garnier", "Faure", "Rousseau",
           "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Perrin", "Morin", "Mathieu",
           "Clément", "Gauthier", "Dumont", "Fontaine", "Chevalier", "Robin", "Masson",
           "Gérard", "Nguyen", "Boyer", "Lemaire", "Duval", "Joly", "Noël", "Meyer",
           "Dufour", "Blanchard", "Brunet", "Leclerc", "Prévost", "Rivière", "Le Gall",
           "Da Silva", "Carré", "Rémy", "Benoît", "Lacroix", "Hébert", "Aubry", "Ménard"),
    "DE": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
           "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Schröder"),
    "ES": ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez",
           "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Álvarez"),
    "GB": ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
           "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "O'Brien", "Clarke"),
    "IT": ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
           "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa"),
    "US": ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Rodriguez",
           "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson"),
}

# (city, postal codes to draw from, state) per country.
CITIES = {
    "FR": (("Paris", ("75001", "75008", "75011", "75015", "75017", "75020"), ""),
           ("Lyon", ("69001", "69003", "69006", "69007"), ""),
           ("Marseille", ("13001", "13006", "13008"), ""),
           ("Toulouse", ("31000", "31200", "31400"), ""),
           ("Nice", ("06000", "06100", "06200"), ""),
           ("Nantes", ("44000", "44100", "44300"), ""),
           ("Bordeaux", ("33000", "33200", "33800"), ""),
           ("Lille", ("59000", "59800"), ""),
           ("Strasbourg", ("67000", "67100"), ""),
           ("Montpellier", ("34000", "34070"), ""),
           ("Rennes", ("35000", "35200"), ""),
           ("Saint-Étienne", ("42000", "42100"), "")),
    "DE": (("Berlin", ("10115", "10243", "10437"), ""), ("München", ("80331", "80469"), ""),
           ("Hamburg", ("20095", "22765"), ""), ("Köln", ("50667", "50823"), ""),
           ("Frankfurt am Main", ("60311", "60594"), "")),
    "ES": (("Madrid", ("28001", "28004", "28013"), ""), ("Barcelona", ("08001", "08008"), ""),
           ("Valencia", ("46001", "46002"), ""), ("Sevilla", ("41001", "41004"), "")),
    "GB": (("London", ("SW1A 1AA", "EC1A 1BB", "W1A 0AX", "N1 9GU"), ""),
           ("Manchester", ("M1 1AE", "M4 5JD"), ""), ("Edinburgh", ("EH1 1YZ", "EH3 9AA"), "")),
    "IT": (("Roma", ("00184", "00186"), ""), ("Milano", ("20121", "20135"), ""),
           ("Napoli", ("80121", "80133"), ""), ("Torino", ("10121", "10128"), "")),
    "US": (("New York", ("10001", "10011", "10024"), "NY"), ("San Francisco", ("94103", "94110"), "CA"),
           ("Boston", ("02108", "02116"), "MA"), ("Chicago", ("60601", "60614"), "IL")),
}

STREETS = {
    "FR": ("{n} rue de la République", "{n} avenue Jean Jaurès", "{n} boulevard Haussmann",
           "{n} rue Victor Hugo", "{n} place de l'Église", "{n} rue des Écoles", "{n} allée des Tilleuls"),
    "DE": ("Hauptstraße {n}", "Bahnhofstraße {n}", "Gartenweg {n}", "Schillerstraße {n}"),
    "ES": ("Calle Mayor {n}", "Avenida de América {n}", "Calle del Sol {n}", "Plaza España {n}"),
    "GB": ("{n} High Street", "{n} Station Road", "{n} Church Lane", "{n} Victoria Road"),
    "IT": ("Via Roma {n}", "Via Garibaldi {n}", "Corso Italia {n}", "Via Mazzini {n}"),
    "US": ("{n} Main Street", "{n} 5th Avenue", "{n} Oak Street", "{n} Maple Avenue"),
}

# How a country name may be typed in a CRM country field (mostly the ISO code).
COUNTRY_SPELLINGS = {
    "FR": ("France", "FRANCE", "fr"), "DE": ("Germany", "Allemagne", "DEU"),
    "ES": ("Spain", "Espagne", "España"), "GB": ("United Kingdom", "UK", "Royaume-Uni"),
    "IT": ("Italy", "Italie", "Italia"), "US": ("USA", "United States", "Etats-Unis"),
}

EMAIL_DOMAINS = {
    "FR": ("gmail.com", "orange.fr", "free.fr", "hotmail.fr", "yahoo.fr", "laposte.net", "sfr.fr"),
    "DE": ("gmail.com", "gmx.de", "web.de", "t-online.de"),
    "ES": ("gmail.com", "hotmail.es", "yahoo.es", "telefonica.net"),
    "GB": ("gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk"),
    "IT": ("gmail.com", "libero.it", "virgilio.it", "tiscali.it"),
    "US": ("gmail.com", "yahoo.com", "outlook.com", "icloud.com"),
}

# Misspelt domains seen in hand-typed emails (used for CRM duplicates).
DOMAIN_TYPOS = {"gmail.com": ("gmial.com", "gmail.fr", "gmai.com"), "orange.fr": ("orange.com", "oragne.fr"),
                "hotmail.fr": ("hotmail.com", "hotmai.fr"), "yahoo.fr": ("yahoo.com", "yaho.fr"),
                "free.fr": ("fre.fr",), "outlook.com": ("outlok.com",)}

LOCALES = {"FR": "fr-FR", "DE": "de-DE", "ES": "es-ES", "GB": "en-GB", "IT": "it-IT", "US": "en-US"}

# UTC offset (minutes) a device in that country writes into its local timestamps (winter time).
TZ_OFFSET = {"FR": 60, "DE": 60, "ES": 60, "IT": 60, "GB": 0, "US": -300}

# Phone numbering: country calling code, national trunk prefix, mobile number templates
# (the national significant number; '#' is any digit, 'N' a digit 2-9). Every template was
# checked valid with libphonenumber, so the pipeline's E.164 normalisation accepts them.
PHONE_PLANS = {
    "FR": ("33", "0", ("60#######", "61#######", "62#######", "64#######", "65#######", "66#######",
                       "67#######", "68#######", "73#######", "75#######", "76#######", "78#######")),
    "DE": ("49", "0", ("151########", "160#######", "176########")),
    "ES": ("34", "", ("6########",)),
    "GB": ("44", "0", ("7824######", "7400######", "7500######", "7712######", "7956######")),
    "IT": ("39", "", ("32#######", "333#######", "347#######")),
    "US": ("1", "1", ("212N######", "415N######", "617N######")),
}
# Company switchboards are Paris landlines (01 4x xx xx xx).
SWITCHBOARD_TEMPLATE = "14#######"

# Employers of business travellers (fictional).
COMPANY_NAMES = ("Altavia Conseil", "Bretagne Logistique", "Cobalt Energie", "Delta Ingenierie",
                 "Estuaire Pharma", "Forge Numerique", "Garonne Assurances", "Helios Batiment",
                 "Iroise Maritime", "Jura Composants", "Kerlann Agro", "Lumen Audit",
                 "Mistral Aeronautique", "Nacre Cosmetiques", "Orion Telecom", "Pyrene Transports",
                 "Quartz Finance", "Rhone Chimie", "Sologne Distribution", "Tramontane Data")

USER_AGENTS_WEB = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
)
USER_AGENTS_APP = ("Voyagair/7.4.2 (iPhone; iOS 18.1)", "Voyagair/7.4.1 (Android 14; Pixel 8)",
                   "Voyagair/7.3.0 (Android 13; SM-S911B)", "Voyagair/7.4.2 (iPad; iPadOS 18.0)")
KIOSK_USER_AGENT = "Voyagair-Kiosk/2.1 (Linux; KioskOS)"
SITE = "https://www.voyagair.example"

# Airports by home country (departures) and destinations.
HOME_AIRPORTS = {"FR": ("CDG", "ORY", "LYS", "NCE", "MRS", "TLS", "BOD", "NTE"), "DE": ("FRA", "MUC", "BER"),
                 "ES": ("MAD", "BCN"), "GB": ("LHR", "LGW", "MAN"), "IT": ("FCO", "MXP"), "US": ("JFK", "SFO", "BOS")}
SHORT_HAUL = ("BCN", "FCO", "LIS", "AMS", "ATH", "NCE", "AJA", "BIA", "PMI", "DUB", "VIE", "PRG", "CPH", "LHR")
LONG_HAUL = ("JFK", "MIA", "YUL", "PTP", "FDF", "RUN", "DXB", "BKK", "NRT", "MEX", "CUN", "SFO")
