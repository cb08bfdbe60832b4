"""Regenerate the embedded demo data in ``src/agentflan/data/demo/``.

The quickstart needs agent trajectories, general chat and plain questions that ship inside
the package (no download). The tools and their results are invented but behave like real
services: currency and unit conversions use fixed rates and exact factors, flight times
follow great-circle distances, time zones come from the IANA database, and the 2024 public
holidays are the real ones. Every random choice comes from a per-trajectory seeded
``random.Random``, so running this script twice writes byte-identical files.

Usage: ``python scripts/make_demo_data.py [--out DIR] [--seed N]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_text import CHATS, QUESTIONS

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "src" / "agentflan" / "data" / "demo"
TODAY = date(2024, 3, 14)  # the demo world's "today" (a Thursday)

# --------------------------------------------------------------------------- tools


def _obj(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


TOOLS: dict[str, dict[str, Any]] = {
    "get_current_weather": {
        "name": "get_current_weather",
        "description": "Get the current weather conditions for a city.",
        "parameters": _obj(
            {
                "location": {"type": "string", "description": "City name, optionally with region and country, e.g. 'Lisbon, Portugal'."},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit (default celsius)."},
            },
            ["location"],
        ),
    },
    "get_weather_forecast": {
        "name": "get_weather_forecast",
        "description": "Get the daily weather forecast for a city, starting today.",
        "parameters": _obj(
            {
                "location": {"type": "string", "description": "City name, e.g. 'Tokyo'."},
                "days": {"type": "integer", "minimum": 1, "maximum": 7, "description": "Number of days to forecast, today included."},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit (default celsius)."},
            },
            ["location", "days"],
        ),
    },
    "convert_currency": {
        "name": "convert_currency",
        "description": "Convert an amount of money between two currencies at today's mid-market rate.",
        "parameters": _obj(
            {
                "amount": {"type": "number", "description": "The amount to convert."},
                "from_currency": {"type": "string", "description": "ISO 4217 code of the source currency, e.g. 'USD'."},
                "to_currency": {"type": "string", "description": "ISO 4217 code of the target currency, e.g. 'JPY'."},
            },
            ["amount", "from_currency", "to_currency"],
        ),
    },
    "convert_units": {
        "name": "convert_units",
        "description": "Convert a measurement between units of length, mass, volume or temperature.",
        "parameters": _obj(
            {
                "value": {"type": "number", "description": "The value to convert."},
                "from_unit": {"type": "string", "description": "Unit of the value, e.g. 'km', 'g', 'ml', 'celsius'."},
                "to_unit": {"type": "string", "description": "Unit to convert to, e.g. 'mi', 'oz', 'cup', 'fahrenheit'."},
            },
            ["value", "from_unit", "to_unit"],
        ),
    },
    "search_flights": {
        "name": "search_flights",
        "description": "Search scheduled flights between two airports on a given date.",
        "parameters": _obj(
            {
                "origin": {"type": "string", "description": "IATA code of the departure airport, e.g. 'LIS'."},
                "destination": {"type": "string", "description": "IATA code of the arrival airport, e.g. 'HND'."},
                "date": {"type": "string", "format": "date", "description": "Departure date, YYYY-MM-DD."},
                "cabin": {"type": "string", "enum": ["economy", "premium_economy", "business"], "description": "Cabin class (default economy)."},
                "max_stops": {"type": "integer", "minimum": 0, "maximum": 2, "description": "Maximum number of stops."},
            },
            ["origin", "destination", "date"],
        ),
    },
    "list_calendar_events": {
        "name": "list_calendar_events",
        "description": "List the events in the user's calendar on one day.",
        "parameters": _obj(
            {
                "date": {"type": "string", "format": "date", "description": "The day, YYYY-MM-DD."},
                "calendar": {"type": "string", "description": "Calendar name (default 'primary')."},
            },
            ["date"],
        ),
    },
    "create_calendar_event": {
        "name": "create_calendar_event",
        "description": "Create an event in the user's calendar.",
        "parameters": _obj(
            {
                "title": {"type": "string", "description": "Event title."},
                "date": {"type": "string", "format": "date", "description": "Day of the event, YYYY-MM-DD."},
                "start_time": {"type": "string", "description": "Local start time, HH:MM (24-hour)."},
                "duration_minutes": {"type": "integer", "minimum": 5, "description": "Length of the event (default 60)."},
                "attendees": {"type": "array", "items": {"type": "string"}, "description": "Email addresses to invite."},
            },
            ["title", "date", "start_time"],
        ),
    },
    "find_recipes": {
        "name": "find_recipes",
        "description": "Find recipes that use the given ingredients.",
        "parameters": _obj(
            {
                "ingredients": {"type": "array", "items": {"type": "string"}, "description": "Ingredients the recipe should use."},
                "max_prep_minutes": {"type": "integer", "minimum": 5, "description": "Upper limit on total preparation time."},
                "diet": {"type": "string", "enum": ["any", "vegetarian", "vegan", "gluten_free"], "description": "Dietary restriction (default any)."},
            },
            ["ingredients"],
        ),
    },
    "get_recipe_details": {
        "name": "get_recipe_details",
        "description": "Get the ingredient list and steps of a recipe found with find_recipes.",
        "parameters": _obj({"recipe_id": {"type": "string", "description": "The recipe's id, e.g. 'rcp_1042'."}}, ["recipe_id"]),
    },
    "get_stock_quote": {
        "name": "get_stock_quote",
        "description": "Get the latest price of a listed stock.",
        "parameters": _obj(
            {
                "symbol": {"type": "string", "description": "Ticker symbol, e.g. 'AAPL'."},
                "exchange": {"type": "string", "description": "Exchange code, e.g. 'NASDAQ' (default: primary listing)."},
            },
            ["symbol"],
        ),
    },
    "translate_text": {
        "name": "translate_text",
        "description": "Translate text into another language.",
        "parameters": _obj(
            {
                "text": {"type": "string", "description": "The text to translate."},
                "target_language": {"type": "string", "description": "ISO 639-1 code of the target language, e.g. 'fr'."},
                "source_language": {"type": "string", "description": "ISO 639-1 code of the source language (detected when omitted)."},
            },
            ["text", "target_language"],
        ),
    },
    "get_time_in_timezone": {
        "name": "get_time_in_timezone",
        "description": "Get the current local time in an IANA time zone.",
        "parameters": _obj({"timezone": {"type": "string", "description": "IANA time zone name, e.g. 'Europe/Berlin'."}}, ["timezone"]),
    },
    "search_restaurants": {
        "name": "search_restaurants",
        "description": "Search restaurants in a city.",
        "parameters": _obj(
            {
                "location": {"type": "string", "description": "City or neighbourhood."},
                "cuisine": {"type": "string", "description": "Type of food, e.g. 'seafood'."},
                "price_level": {"type": "integer", "minimum": 1, "maximum": 4, "description": "1 (cheap) to 4 (expensive)."},
                "open_now": {"type": "boolean", "description": "Only places open at the moment."},
            },
            ["location"],
        ),
    },
    "calculate_loan_payment": {
        "name": "calculate_loan_payment",
        "description": "Monthly payment and total interest of a fixed-rate amortising loan.",
        "parameters": _obj(
            {
                "principal": {"type": "number", "description": "Amount borrowed."},
                "annual_rate_percent": {"type": "number", "description": "Nominal yearly interest rate in percent, e.g. 6.5."},
                "years": {"type": "integer", "minimum": 1, "maximum": 40, "description": "Term of the loan in years."},
            },
            ["principal", "annual_rate_percent", "years"],
        ),
    },
    "define_word": {
        "name": "define_word",
        "description": "Look up the dictionary definitions of an English word.",
        "parameters": _obj(
            {
                "word": {"type": "string", "description": "The word to define."},
                "include_examples": {"type": "boolean", "description": "Add an example sentence per sense (default true)."},
            },
            ["word"],
        ),
    },
    "track_package": {
        "name": "track_package",
        "description": "Get the delivery status of a parcel.",
        "parameters": _obj(
            {
                "tracking_number": {"type": "string", "description": "The carrier's tracking number."},
                "carrier": {"type": "string", "enum": ["dhl", "ups", "fedex", "usps"], "description": "Carrier (detected from the number when omitted)."},
            },
            ["tracking_number"],
        ),
    },
    "get_public_holidays": {
        "name": "get_public_holidays",
        "description": "List the national public holidays of a country in a year.",
        "parameters": _obj(
            {
                "country_code": {"type": "string", "description": "ISO 3166-1 alpha-2 country code, e.g. 'DE'."},
                "year": {"type": "integer", "description": "Calendar year."},
            },
            ["country_code", "year"],
        ),
    },
}

# --------------------------------------------------------------------------- the demo world


@dataclass(frozen=True)
class City:
    name: str
    country: str
    tz: str
    currency: str
    airport: str
    lat: float
    lon: float
    march: tuple[int, int]  # typical low/high in mid-March, degrees Celsius
    language: str


CITIES = [
    City("Lisbon", "Portugal", "Europe/Lisbon", "EUR", "LIS", 38.72, -9.14, (10, 19), "pt"),
    City("Tokyo", "Japan", "Asia/Tokyo", "JPY", "HND", 35.68, 139.69, (5, 14), "ja"),
    City("Nairobi", "Kenya", "Africa/Nairobi", "KES", "NBO", -1.29, 36.82, (14, 27), "en"),
    City("Toronto", "Canada", "America/Toronto", "CAD", "YYZ", 43.65, -79.38, (-4, 5), "en"),
    City("Buenos Aires", "Argentina", "America/Argentina/Buenos_Aires", "ARS", "EZE", -34.60, -58.38, (17, 26), "es"),
    City("Oslo", "Norway", "Europe/Oslo", "NOK", "OSL", 59.91, 10.75, (-3, 5), "no"),
    City("Singapore", "Singapore", "Asia/Singapore", "SGD", "SIN", 1.35, 103.82, (24, 32), "en"),
    City("Melbourne", "Australia", "Australia/Melbourne", "AUD", "MEL", -37.81, 144.96, (13, 24), "en"),
    City("Mexico City", "Mexico", "America/Mexico_City", "MXN", "MEX", 19.43, -99.13, (9, 26), "es"),
    City("Berlin", "Germany", "Europe/Berlin", "EUR", "BER", 52.52, 13.40, (1, 10), "de"),
    City("Seoul", "South Korea", "Asia/Seoul", "KRW", "ICN", 37.57, 126.98, (1, 12), "ko"),
    City("Cape Town", "South Africa", "Africa/Johannesburg", "ZAR", "CPT", -33.92, 18.42, (15, 26), "en"),
    City("Reykjavik", "Iceland", "Atlantic/Reykjavik", "ISK", "KEF", 64.15, -21.94, (-2, 4), "is"),
    City("Edinburgh", "United Kingdom", "Europe/London", "GBP", "EDI", 55.95, -3.19, (3, 10), "en"),
    City("Denver", "United States", "America/Denver", "USD", "DEN", 39.74, -104.99, (-2, 13), "en"),
    City("Mumbai", "India", "Asia/Kolkata", "INR", "BOM", 19.08, 72.88, (22, 32), "en"),
]
BY_NAME = {c.name: c for c in CITIES}

# Units per US dollar on the demo "today" (plausible, not live).
USD_RATES = {
    "USD": 1.0, "EUR": 0.918, "GBP": 0.784, "JPY": 148.2, "CAD": 1.352, "AUD": 1.516, "CHF": 0.881,
    "INR": 82.86, "MXN": 16.78, "SGD": 1.333, "NOK": 10.51, "KES": 142.5, "ZAR": 18.83, "KRW": 1321.0,
    "ISK": 136.4, "ARS": 846.0,
}
CURRENCY_NAMES = {
    "USD": "US dollars", "EUR": "euros", "GBP": "pounds sterling", "JPY": "yen", "CAD": "Canadian dollars",
    "AUD": "Australian dollars", "CHF": "Swiss francs", "INR": "rupees", "MXN": "Mexican pesos",
    "SGD": "Singapore dollars", "NOK": "Norwegian kroner", "KES": "Kenyan shillings", "ZAR": "rand",
    "KRW": "won", "ISK": "Icelandic krónur", "ARS": "Argentine pesos",
}

AIRLINES = ["SkyBridge Air", "Meridian Airways", "Polaris Airlines", "Coastal Jet", "Atlas Air Lines", "Aurora Airways"]
LANGUAGE_NAMES = {"es": "Spanish", "fr": "French", "de": "German", "it": "Italian", "pt": "Portuguese", "ja": "Japanese"}

PHRASES: dict[str, dict[str, str]] = {
    "Where is the train station?": {
        "es": "¿Dónde está la estación de tren?", "fr": "Où est la gare ?", "de": "Wo ist der Bahnhof?",
        "it": "Dov'è la stazione dei treni?", "pt": "Onde fica a estação de comboios?", "ja": "駅はどこですか？",
    },
    "A table for two, please.": {
        "es": "Una mesa para dos, por favor.", "fr": "Une table pour deux, s'il vous plaît.", "de": "Einen Tisch für zwei, bitte.",
        "it": "Un tavolo per due, per favore.", "pt": "Uma mesa para dois, por favor.", "ja": "二人用のテーブルをお願いします。",
    },
    "How much does this cost?": {
        "es": "¿Cuánto cuesta esto?", "fr": "Combien ça coûte ?", "de": "Wie viel kostet das?",
        "it": "Quanto costa questo?", "pt": "Quanto custa isto?", "ja": "これはいくらですか？",
    },
    "Thank you for your help.": {
        "es": "Gracias por su ayuda.", "fr": "Merci pour votre aide.", "de": "Vielen Dank für Ihre Hilfe.",
        "it": "Grazie per il suo aiuto.", "pt": "Obrigado pela sua ajuda.", "ja": "ご協力ありがとうございます。",
    },
    "I am allergic to peanuts.": {
        "es": "Soy alérgico a los cacahuetes.", "fr": "Je suis allergique aux arachides.", "de": "Ich bin allergisch gegen Erdnüsse.",
        "it": "Sono allergico alle arachidi.", "pt": "Sou alérgico a amendoins.", "ja": "私はピーナッツアレルギーです。",
    },
    "Could you call a taxi for me?": {
        "es": "¿Podría llamarme un taxi?", "fr": "Pourriez-vous m'appeler un taxi ?", "de": "Könnten Sie mir ein Taxi rufen?",
        "it": "Potrebbe chiamarmi un taxi?", "pt": "Podia chamar-me um táxi?", "ja": "タクシーを呼んでいただけますか？",
    },
}

WORDS: dict[str, dict[str, Any]] = {
    "ephemeral": {
        "senses": [("adjective", "Lasting for a very short time.", "The ephemeral beauty of the cherry blossoms draws crowds every spring.")],
        "translations": {"fr": "éphémère", "es": "efímero", "de": "vergänglich", "it": "effimero"},
    },
    "resilient": {
        "senses": [
            ("adjective", "Able to recover quickly from difficulties.", "Small businesses in the town proved remarkably resilient."),
            ("adjective", "Able to spring back into shape after bending or stretching.", "The mat is made of a resilient foam."),
        ],
        "translations": {"fr": "résilient", "es": "resiliente", "de": "widerstandsfähig", "it": "resiliente"},
    },
    "meticulous": {
        "senses": [("adjective", "Showing great attention to detail; very careful and precise.", "She kept meticulous records of every experiment.")],
        "translations": {"fr": "méticuleux", "es": "meticuloso", "de": "akribisch", "it": "meticoloso"},
    },
    "ubiquitous": {
        "senses": [("adjective", "Present, appearing or found everywhere.", "Smartphones have become ubiquitous in daily life.")],
        "translations": {"fr": "omniprésent", "es": "omnipresente", "de": "allgegenwärtig", "it": "onnipresente"},
    },
    "candid": {
        "senses": [
            ("adjective", "Truthful and straightforward; frank.", "He gave a candid account of what went wrong."),
            ("adjective", "(of a photograph) Taken informally, without the subject posing.", "The best wedding pictures were the candid ones."),
        ],
        "translations": {"fr": "franc", "es": "franco", "de": "offen", "it": "schietto"},
    },
    "serendipity": {
        "senses": [("noun", "The occurrence of happy or useful events by chance.", "Finding that bookshop was pure serendipity.")],
        "translations": {"fr": "sérendipité", "es": "serendipia", "de": "Serendipität", "it": "serendipità"},
    },
}

RECIPES: list[dict[str, Any]] = [
    {
        "recipe_id": "rcp_1042", "title": "Shakshuka", "prep_minutes": 30, "diet": "vegetarian", "servings": 2,
        "ingredients": [("eggs", 4, "piece"), ("canned tomatoes", 400, "g"), ("red bell pepper", 1, "piece"),
                        ("onion", 1, "piece"), ("olive oil", 30, "ml"), ("ground cumin", 5, "g"), ("feta cheese", 80, "g")],
        "steps": ["Soften the onion and pepper in the oil.", "Add cumin and tomatoes and simmer for 10 minutes.",
                  "Make four wells, crack in the eggs and cook covered until the whites set.", "Crumble the feta on top."],
        "main": ("canned tomatoes", 400, "g"),
    },
    {
        "recipe_id": "rcp_2210", "title": "Lemon garlic spaghetti", "prep_minutes": 20, "diet": "vegetarian", "servings": 2,
        "ingredients": [("spaghetti", 200, "g"), ("garlic", 3, "clove"), ("lemon", 1, "piece"), ("butter", 40, "g"),
                        ("parmesan", 50, "g"), ("parsley", 10, "g")],
        "steps": ["Cook the spaghetti in salted water.", "Melt the butter with sliced garlic over low heat.",
                  "Toss the pasta with the garlic butter, lemon zest and juice.", "Finish with parmesan and parsley."],
        "main": ("spaghetti", 200, "g"),
    },
    {
        "recipe_id": "rcp_3307", "title": "Banana bread", "prep_minutes": 70, "diet": "vegetarian", "servings": 8,
        "ingredients": [("ripe bananas", 3, "piece"), ("plain flour", 250, "g"), ("sugar", 150, "g"), ("butter", 115, "g"),
                        ("eggs", 2, "piece"), ("baking soda", 5, "g"), ("milk", 60, "ml")],
        "steps": ["Heat the oven to 175 °C.", "Mash the bananas and beat in melted butter, sugar and eggs.",
                  "Fold in flour and baking soda, then the milk.", "Bake in a loaf tin for about 55 minutes."],
        "main": ("plain flour", 250, "g"),
    },
    {
        "recipe_id": "rcp_4415", "title": "Chickpea and spinach curry", "prep_minutes": 35, "diet": "vegan", "servings": 4,
        "ingredients": [("chickpeas, cooked", 480, "g"), ("spinach", 200, "g"), ("coconut milk", 400, "ml"),
                        ("onion", 1, "piece"), ("curry paste", 45, "g"), ("rice", 300, "g")],
        "steps": ["Fry the onion, then the curry paste for a minute.", "Add chickpeas and coconut milk and simmer 15 minutes.",
                  "Stir in the spinach until wilted.", "Serve with rice."],
        "main": ("coconut milk", 400, "ml"),
    },
    {
        "recipe_id": "rcp_5123", "title": "Mushroom risotto", "prep_minutes": 45, "diet": "vegetarian", "servings": 3,
        "ingredients": [("arborio rice", 300, "g"), ("mushrooms", 250, "g"), ("vegetable stock", 1000, "ml"),
                        ("white wine", 120, "ml"), ("shallot", 2, "piece"), ("parmesan", 60, "g")],
        "steps": ["Brown the mushrooms and set aside.", "Sweat the shallots, toast the rice, add the wine.",
                  "Add hot stock a ladle at a time, stirring, for about 18 minutes.", "Fold in mushrooms and parmesan."],
        "main": ("arborio rice", 300, "g"),
    },
    {
        "recipe_id": "rcp_6078", "title": "Buttermilk pancakes", "prep_minutes": 25, "diet": "vegetarian", "servings": 4,
        "ingredients": [("plain flour", 200, "g"), ("buttermilk", 300, "ml"), ("eggs", 1, "piece"), ("sugar", 25, "g"),
                        ("baking powder", 10, "g"), ("butter", 30, "g")],
        "steps": ["Whisk the dry ingredients.", "Whisk buttermilk, egg and melted butter, then combine briefly.",
                  "Cook ladlefuls on a hot greased pan until bubbles form, then flip."],
        "main": ("buttermilk", 300, "ml"),
    },
    {
        "recipe_id": "rcp_7201", "title": "Gluten-free salmon and potato traybake", "prep_minutes": 40, "diet": "gluten_free", "servings": 2,
        "ingredients": [("salmon fillets", 300, "g"), ("new potatoes", 500, "g"), ("green beans", 150, "g"),
                        ("olive oil", 30, "ml"), ("lemon", 1, "piece")],
        "steps": ["Roast the halved potatoes at 200 °C for 20 minutes.", "Add beans and salmon, drizzle with oil and lemon.",
                  "Roast 12 more minutes until the salmon flakes."],
        "main": ("new potatoes", 500, "g"),
    },
]
RECIPE_QUERIES = [  # (ingredients the user names, diet, recipe index, max minutes or None)
    (["eggs", "tomatoes", "feta"], "vegetarian", 0, 40),
    (["spaghetti", "lemon", "garlic"], "any", 1, 30),
    (["bananas", "flour"], "any", 2, None),
    (["chickpeas", "spinach", "coconut milk"], "vegan", 3, 45),
    (["mushrooms", "rice", "parmesan"], "vegetarian", 4, 60),
    (["buttermilk", "flour", "eggs"], "any", 5, 30),
    (["salmon", "potatoes"], "gluten_free", 6, 45),
]

# Exact conversion factors to a base unit per dimension.
UNITS: dict[str, tuple[str, float]] = {
    "km": ("length", 1000.0), "m": ("length", 1.0), "cm": ("length", 0.01), "mi": ("length", 1609.344),
    "ft": ("length", 0.3048), "in": ("length", 0.0254),
    "kg": ("mass", 1000.0), "g": ("mass", 1.0), "lb": ("mass", 453.59237), "oz": ("mass", 28.349523125),
    "l": ("volume", 1000.0), "ml": ("volume", 1.0), "cup": ("volume", 236.5882365), "gal": ("volume", 3785.411784),
    "fl_oz": ("volume", 29.5735295625),
}
UNIT_WORDS = {
    "km": "kilometres", "m": "metres", "cm": "centimetres", "mi": "miles", "ft": "feet", "in": "inches",
    "kg": "kilograms", "g": "grams", "lb": "pounds", "oz": "ounces", "l": "litres", "ml": "millilitres",
    "cup": "US cups", "gal": "US gallons", "fl_oz": "US fluid ounces", "celsius": "°C", "fahrenheit": "°F",
}

STOCKS = {
    "AAPL": ("Apple Inc.", "NASDAQ", 172.0), "MSFT": ("Microsoft Corporation", "NASDAQ", 415.0),
    "NVDA": ("NVIDIA Corporation", "NASDAQ", 880.0), "TSLA": ("Tesla, Inc.", "NASDAQ", 168.0),
    "AMZN": ("Amazon.com, Inc.", "NASDAQ", 176.0), "GOOGL": ("Alphabet Inc. Class A", "NASDAQ", 141.0),
    "KO": ("The Coca-Cola Company", "NYSE", 60.0), "JPM": ("JPMorgan Chase & Co.", "NYSE", 191.0),
    "DIS": ("The Walt Disney Company", "NYSE", 113.0), "NKE": ("Nike, Inc.", "NYSE", 99.0),
}

HOLIDAYS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "DE": ("Germany", [("2024-01-01", "New Year's Day"), ("2024-03-29", "Good Friday"), ("2024-04-01", "Easter Monday"),
                       ("2024-05-01", "Labour Day"), ("2024-05-09", "Ascension Day"), ("2024-05-20", "Whit Monday"),
                       ("2024-10-03", "German Unity Day"), ("2024-12-25", "Christmas Day"), ("2024-12-26", "Second Day of Christmas")]),
    "GB": ("United Kingdom", [("2024-01-01", "New Year's Day"), ("2024-03-29", "Good Friday"), ("2024-04-01", "Easter Monday"),
                              ("2024-05-06", "Early May Bank Holiday"), ("2024-05-27", "Spring Bank Holiday"),
                              ("2024-08-26", "Summer Bank Holiday"), ("2024-12-25", "Christmas Day"), ("2024-12-26", "Boxing Day")]),
    "US": ("United States", [("2024-01-01", "New Year's Day"), ("2024-01-15", "Martin Luther King Jr. Day"),
                             ("2024-02-19", "Presidents' Day"), ("2024-05-27", "Memorial Day"), ("2024-06-19", "Juneteenth"),
                             ("2024-07-04", "Independence Day"), ("2024-09-02", "Labor Day"), ("2024-11-28", "Thanksgiving Day"),
                             ("2024-12-25", "Christmas Day")]),
    "JP": ("Japan", [("2024-03-20", "Vernal Equinox Day"), ("2024-04-29", "Showa Day"), ("2024-05-03", "Constitution Memorial Day"),
                     ("2024-05-04", "Greenery Day"), ("2024-05-05", "Children's Day"), ("2024-05-06", "Substitute Holiday"),
                     ("2024-07-15", "Marine Day"), ("2024-08-12", "Substitute Holiday"), ("2024-09-16", "Respect for the Aged Day")]),
    "CA": ("Canada", [("2024-01-01", "New Year's Day"), ("2024-03-29", "Good Friday"), ("2024-05-20", "Victoria Day"),
                      ("2024-07-01", "Canada Day"), ("2024-09-02", "Labour Day"), ("2024-12-25", "Christmas Day")]),
}

SYSTEM_PROMPTS = [
    "You are a helpful assistant. Use the available tools when they help you answer accurately.",
    "You are a travel and productivity assistant with access to external tools. Call a tool whenever you need live data, and answer in plain language.",
    "You are an assistant that can call functions. Think step by step, call tools when you need information you do not have, and finish with a concise answer for the user.",
]

# --------------------------------------------------------------------------- simulated services


def _r(x: float, nd: int = 2) -> float:
    y = round(x, nd)
    return 0.0 if y == 0 else y  # never "-0.0"


def convert_money(amount: float, src: str, dst: str) -> tuple[float, float]:
    rate = USD_RATES[dst] / USD_RATES[src]
    return _r(rate, 4), _r(amount * rate, 2)


def convert_measure(value: float, src: str, dst: str) -> float:
    if src == "celsius" and dst == "fahrenheit":
        return _r(value * 9 / 5 + 32, 1)
    if src == "fahrenheit" and dst == "celsius":
        return _r((value - 32) * 5 / 9, 1)
    dim_a, fa = UNITS[src]
    dim_b, fb = UNITS[dst]
    assert dim_a == dim_b, (src, dst)
    return _r(value * fa / fb, 3)


def _conditions(city: City) -> list[tuple[str, int]]:
    """(condition, chance of precipitation %) plausible for the city's March climate."""
    low, high = city.march
    if high <= 6:
        return [("light snow", 70), ("overcast", 20), ("partly cloudy", 10), ("clear", 5), ("sleet", 80)]
    if low >= 22:
        return [("thunderstorms", 80), ("partly cloudy", 20), ("humid and sunny", 10), ("scattered showers", 60)]
    return [("sunny", 5), ("partly cloudy", 10), ("overcast", 25), ("light rain", 75), ("showers", 60), ("windy", 15)]


def weather_now(city: City, rng: random.Random, unit: str = "celsius") -> dict[str, Any]:
    low, high = city.march
    cond, _ = rng.choice(_conditions(city))
    temp = rng.uniform(low, high)
    return {
        "location": f"{city.name}, {city.country}",
        "temperature": _r(temp * 9 / 5 + 32 if unit == "fahrenheit" else temp, 1),
        "feels_like": _r((temp - rng.uniform(0, 3)) * 9 / 5 + 32 if unit == "fahrenheit" else temp - rng.uniform(0, 3), 1),
        "unit": unit,
        "condition": cond,
        "humidity_percent": rng.randint(35, 90),
        "wind_kph": rng.randint(3, 35),
        "observed_at": f"{TODAY.isoformat()}T{rng.randint(8, 18):02d}:00",
    }


def forecast(city: City, days: int, rng: random.Random, unit: str = "celsius") -> dict[str, Any]:
    low, high = city.march
    out = []
    for d in range(days):
        cond, rain = rng.choice(_conditions(city))
        lo = rng.uniform(low - 2, low + 2)
        hi = max(lo + 3, rng.uniform(high - 3, high + 2))
        if unit == "fahrenheit":
            lo, hi = lo * 9 / 5 + 32, hi * 9 / 5 + 32
        out.append({
            "date": (TODAY + timedelta(days=d)).isoformat(),
            "condition": cond,
            "high": _r(hi, 0),
            "low": _r(lo, 0),
            "precipitation_chance_percent": max(0, min(100, rain + rng.randint(-10, 10))),
        })
    return {"location": f"{city.name}, {city.country}", "unit": unit, "days": out}


def _distance_km(a: City, b: City) -> float:
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dl = math.radians(b.lon - a.lon)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0 * math.acos(max(-1.0, min(1.0, c)))


def flights(a: City, b: City, day: date, rng: random.Random, cabin: str = "economy", max_stops: int | None = None) -> list[dict[str, Any]]:
    dist = _distance_km(a, b)
    results = []
    stops_options = [1, 1, 2] if dist > 9500 else [0, 1, 1, 2] if dist > 6000 else [0, 0, 1]
    for _ in range(3):
        stops = rng.choice(stops_options)
        if max_stops is not None:
            stops = min(stops, max_stops)
        minutes = int(dist / 820 * 60 + 35 + stops * rng.randint(70, 180))
        dep = datetime(day.year, day.month, day.day, rng.randint(6, 21), rng.choice([0, 10, 25, 40, 55]))
        arr = dep + timedelta(minutes=minutes)  # shown in departure-airport time for simplicity
        base = dist * 0.075 + 60 - stops * 45
        factor = {"economy": 1.0, "premium_economy": 1.7, "business": 3.6}[cabin]
        price = max(49.0, base * factor * rng.uniform(0.8, 1.35))
        code = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXZ") for _ in range(2))
        results.append({
            "flight_number": f"{code}{rng.randint(100, 9899)}",
            "airline": rng.choice(AIRLINES),
            "departure": dep.strftime("%Y-%m-%dT%H:%M"),
            "arrival": arr.strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": minutes,
            "stops": stops,
            "cabin": cabin,
            "price": {"amount": _r(price, 0), "currency": "USD"},
        })
    results.sort(key=lambda f: f["departure"])
    return results


def local_time(tz: str, instant: datetime) -> dict[str, Any]:
    local = instant.astimezone(ZoneInfo(tz))
    offset = local.utcoffset() or timedelta(0)
    hours = offset.total_seconds() / 3600
    return {
        "timezone": tz,
        "local_time": local.strftime("%Y-%m-%dT%H:%M"),
        "weekday": local.strftime("%A"),
        "utc_offset": f"{'+' if hours >= 0 else '-'}{int(abs(hours)):02d}:{int(abs(hours) * 60) % 60:02d}",
    }


def stock_quote(symbol: str, rng: random.Random) -> dict[str, Any]:
    name, exchange, base = STOCKS[symbol]
    price = base * rng.uniform(0.96, 1.04)
    change = rng.uniform(-3.2, 3.4)
    return {
        "symbol": symbol, "name": name, "exchange": exchange, "price": _r(price), "currency": "USD",
        "change_percent": _r(change), "previous_close": _r(price / (1 + change / 100)),
        "as_of": f"{TODAY.isoformat()}T15:{rng.randint(10, 59):02d}:00-04:00",
    }


def loan(principal: float, rate_percent: float, years: int) -> dict[str, Any]:
    r = rate_percent / 100 / 12
    n = years * 12
    payment = principal * r / (1 - (1 + r) ** -n)
    return {
        "monthly_payment": _r(payment), "number_of_payments": n,
        "total_paid": _r(payment * n), "total_interest": _r(payment * n - principal),
    }


def stops_text(stops: int) -> str:
    return "non-stop" if stops == 0 else f"{stops} stop" + ("s" if stops > 1 else "")


def span(day: dict[str, Any]) -> str:
    return f"from {day['low']:.0f} to {day['high']:.0f} °C"


def fmt_money(x: float, cur: str) -> str:
    return f"{x:,.0f} {cur}" if abs(x) >= 1000 else f"{x:,.2f} {cur}"


def hhmm(minutes: int) -> str:
    return f"{minutes // 60} h {minutes % 60:02d} min"


def nice_date(d: str | date) -> str:
    dd = date.fromisoformat(d) if isinstance(d, str) else d
    return f"{dd.strftime('%A')}, {dd.day} {dd.strftime('%B')}"


# --------------------------------------------------------------------------- trajectory builder


class Trajectory:
    """Accumulates OpenAI-format messages; call ids are stable hashes of the trajectory id."""

    def __init__(self, tid: str, rng: random.Random, tools: list[str], user: str) -> None:
        self.tid = tid
        self.rng = rng
        self.tools = tools
        self.messages: list[dict[str, Any]] = [
            {"role": "system", "content": rng.choice(SYSTEM_PROMPTS)},
            {"role": "user", "content": user},
        ]
        self._n = 0

    def step(self, thought: str, *calls: tuple[str, dict[str, Any], dict[str, Any]]) -> None:
        tool_calls = []
        for name, args, _ in calls:
            assert name in self.tools, (self.tid, name)
            assert set(TOOLS[name]["parameters"]["required"]) <= set(args), (self.tid, name, args)
            assert set(args) <= set(TOOLS[name]["parameters"]["properties"]), (self.tid, name, args)
            digest = hashlib.sha1(f"{self.tid}/{self._n}".encode()).hexdigest()[:12]
            self._n += 1
            tool_calls.append({"id": f"call_{digest}", "type": "function",
                               "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)}})
        self.messages.append({"role": "assistant", "content": thought, "tool_calls": tool_calls})
        for tc, (name, _, result) in zip(tool_calls, calls, strict=True):
            self.messages.append({"role": "tool", "tool_call_id": tc["id"], "name": name,
                                  "content": json.dumps(result, ensure_ascii=False)})

    def final(self, text: str) -> dict[str, Any]:
        self.messages.append({"role": "assistant", "content": text})
        used = set(self.tools)
        others = sorted(set(TOOLS) - used)
        offered = sorted(used) + self.rng.sample(others, self.rng.randint(1, 3))
        self.rng.shuffle(offered)
        return {"id": self.tid, "messages": self.messages,
                "tools": [{"type": "function", "function": TOOLS[n]} for n in offered]}


def pick(rng: random.Random, options: list[str], **kw: Any) -> str:
    return rng.choice(options).format(**kw)


# --------------------------------------------------------------------------- scenarios
# Each scenario turns a seeded rng into one finished trajectory.


def sc_umbrella(tid: str, rng: random.Random) -> dict[str, Any]:
    city = rng.choice(CITIES)
    user = pick(rng, [
        "Do I need an umbrella in {c} tomorrow?",
        "I'm in {c} for the next few days. Will it rain tomorrow or the day after?",
        "Should I pack a rain jacket for {c}? I'm there tomorrow and Saturday.",
    ], c=city.name)
    t = Trajectory(tid, rng, ["get_weather_forecast"], user)
    fc = forecast(city, 3, rng)
    t.step(f"The user wants to know about rain in {city.name} over the next two days, so I need a short forecast.",
           ("get_weather_forecast", {"location": city.name, "days": 3}, fc))
    d1, d2 = fc["days"][1], fc["days"][2]
    wet = [d for d in (d1, d2) if d["precipitation_chance_percent"] >= 50]
    advice = ("Yes, take an umbrella" if d1["precipitation_chance_percent"] >= 50
              else "An umbrella is probably not needed" if not wet else "Tomorrow looks dry, but keep an umbrella handy for the day after")
    return t.final(
        f"{advice}. Tomorrow ({nice_date(d1['date'])}) in {city.name}: {d1['condition']}, {span(d1)}, "
        f"{d1['precipitation_chance_percent']}% chance of rain. The day after: {d2['condition']}, "
        f"{span(d2)}, {d2['precipitation_chance_percent']}% chance of rain."
    )


def sc_compare_weather(tid: str, rng: random.Random) -> dict[str, Any]:
    a, b = rng.sample(CITIES, 2)
    fahrenheit = a.country == "United States" or b.country == "United States" or rng.random() < 0.2
    unit = "fahrenheit" if fahrenheit else "celsius"
    sym = "°F" if fahrenheit else "°C"
    user = pick(rng, [
        "Which is warmer right now, {a} or {b}?",
        "Compare the current weather in {a} and {b} for me" + (" in Fahrenheit." if fahrenheit else "."),
        "My sister is in {a} and I'm in {b}. Who has the better weather at the moment?",
    ], a=a.name, b=b.name)
    t = Trajectory(tid, rng, ["get_current_weather"], user)
    wa, wb = weather_now(a, rng, unit), weather_now(b, rng, unit)
    t.step("I need the current conditions in both cities; the two lookups are independent, so I'll request them together.",
           ("get_current_weather", {"location": f"{a.name}, {a.country}", "unit": unit}, wa),
           ("get_current_weather", {"location": f"{b.name}, {b.country}", "unit": unit}, wb))
    warmer, cooler = (a, b) if wa["temperature"] >= wb["temperature"] else (b, a)
    diff = abs(wa["temperature"] - wb["temperature"])
    return t.final(
        f"Right now it is {wa['temperature']} {sym} ({wa['condition']}) in {a.name} and {wb['temperature']} {sym} "
        f"({wb['condition']}) in {b.name}, so {warmer.name} is warmer than {cooler.name} by about {diff:.1f} {sym}."
    )


def sc_trip_money_weather(tid: str, rng: random.Random) -> dict[str, Any]:
    dest = rng.choice([c for c in CITIES if c.currency != "USD"])
    home = rng.choice(["USD", "GBP", "EUR", "CAD", "AUD"])
    if home == dest.currency:
        home = "USD"
    amount = rng.choice([300, 500, 750, 1000, 1200, 1500, 2000])
    user = pick(rng, [
        "I'm flying to {c} on Monday with {a} {h} in cash. How much is that in local money, and what weather should I pack for?",
        "Heading to {c} next week. Convert my {a} {h} budget to the local currency and give me the forecast, please.",
        "What will {a} {h} get me in {c}, and is it going to be cold there this week?",
    ], c=dest.name, a=amount, h=home)
    t = Trajectory(tid, rng, ["convert_currency", "get_weather_forecast"], user)
    rate, conv = convert_money(amount, home, dest.currency)
    t.step(f"{dest.name} uses {CURRENCY_NAMES[dest.currency]} ({dest.currency}). First I'll convert {amount} {home}.",
           ("convert_currency", {"amount": amount, "from_currency": home, "to_currency": dest.currency},
            {"amount": amount, "from_currency": home, "to_currency": dest.currency, "rate": rate, "converted_amount": conv,
             "as_of": TODAY.isoformat()}))
    fc = forecast(dest, 5, rng)
    t.step(f"{amount} {home} is about {fmt_money(conv, dest.currency)}. Now the weather for the coming days in {dest.name}.",
           ("get_weather_forecast", {"location": dest.name, "days": 5}, fc))
    lows = [d["low"] for d in fc["days"]]
    highs = [d["high"] for d in fc["days"]]
    rainy = sum(d["precipitation_chance_percent"] >= 50 for d in fc["days"])
    pack = ("warm layers, a hat and gloves" if max(highs) <= 8 else
            "light clothes and sun protection" if min(lows) >= 18 else "layers and a light jacket")
    return t.final(
        f"Your {amount} {home} is worth about {fmt_money(conv, dest.currency)} at today's rate ({rate} {dest.currency} per {home}). "
        f"Over the next five days {dest.name} expects lows of {min(lows):.0f} °C and highs up to {max(highs):.0f} °C, "
        f"with {rainy} of the 5 days likely to be wet. Pack {pack}" + (", plus an umbrella." if rainy else ".")
    )


def sc_flight_weather(tid: str, rng: random.Random) -> dict[str, Any]:
    a, b = rng.sample(CITIES, 2)
    offset = rng.randint(2, 6)
    day = TODAY + timedelta(days=offset)
    prefer = rng.choice(["cheapest", "fastest"])
    user = pick(rng, [
        "Find me the {p} flight from {a} to {b} on {d}, and tell me what the weather will be like when I land.",
        "I need to get from {a} ({ac}) to {b} ({bc}) on {d}. What's the {p} option, and how's the weather there that day?",
    ], p=prefer, a=a.name, b=b.name, ac=a.airport, bc=b.airport, d=day.isoformat())
    t = Trajectory(tid, rng, ["search_flights", "get_weather_forecast"], user)
    fl = flights(a, b, day, rng)
    t.step(f"I'll search flights {a.airport} → {b.airport} on {day.isoformat()} first.",
           ("search_flights", {"origin": a.airport, "destination": b.airport, "date": day.isoformat()}, {"flights": fl}))
    key = (lambda f: f["price"]["amount"]) if prefer == "cheapest" else (lambda f: f["duration_minutes"])
    best = min(fl, key=key)
    fc = forecast(b, offset + 1, rng)
    t.step(f"The {prefer} option is {best['flight_number']}. The trip is {offset} days away, so a {offset + 1}-day forecast for "
           f"{b.name} covers the arrival day.",
           ("get_weather_forecast", {"location": b.name, "days": offset + 1}, fc))
    arrival_day = fc["days"][-1]
    stops = stops_text(best["stops"])
    return t.final(
        f"The {prefer} flight is {best['airline']} {best['flight_number']}, leaving {a.airport} at {best['departure'][11:]} "
        f"on {nice_date(day)}, {stops}, {hhmm(best['duration_minutes'])}, for {best['price']['amount']:.0f} USD in economy. "
        f"In {b.name} that day expect {arrival_day['condition']}, {span(arrival_day)} "
        f"with a {arrival_day['precipitation_chance_percent']}% chance of rain."
    )


def sc_flight_calendar(tid: str, rng: random.Random) -> dict[str, Any]:
    a, b = rng.sample(CITIES, 2)
    day = TODAY + timedelta(days=rng.randint(3, 20))
    cabin = rng.choice(["economy", "business", "premium_economy"])
    user = pick(rng, [
        "Look for a non-stop {cab} flight {ac} to {bc} on {d} and put the earliest one in my calendar.",
        "Can you find direct flights from {a} to {b} on {d} in {cab}? Add the first departure to my calendar.",
    ], cab=cabin.replace("_", " "), ac=a.airport, bc=b.airport, a=a.name, b=b.name, d=day.isoformat())
    t = Trajectory(tid, rng, ["search_flights", "create_calendar_event"], user)
    fl = flights(a, b, day, rng, cabin=cabin, max_stops=0)
    t.step("The user wants direct flights only, so I'll set max_stops to 0.",
           ("search_flights", {"origin": a.airport, "destination": b.airport, "date": day.isoformat(), "cabin": cabin, "max_stops": 0},
            {"flights": fl}))
    first = fl[0]
    title = f"Flight {first['flight_number']} {a.airport} → {b.airport}"
    event_id = "evt_" + hashlib.sha1(tid.encode()).hexdigest()[:8]
    t.step(f"The earliest departure is {first['flight_number']} at {first['departure'][11:]}. I'll block the flight time in the calendar.",
           ("create_calendar_event", {"title": title, "date": day.isoformat(), "start_time": first["departure"][11:],
                                      "duration_minutes": first["duration_minutes"]},
            {"status": "created", "event_id": event_id, "title": title, "start": first["departure"],
             "end": first["arrival"], "calendar": "primary"}))
    return t.final(
        f"Done. The earliest non-stop {cabin.replace('_', ' ')} flight is {first['airline']} {first['flight_number']}, "
        f"departing {a.airport} at {first['departure'][11:]} on {nice_date(day)} and arriving at {first['arrival'][11:]} "
        f"({hhmm(first['duration_minutes'])}, {first['price']['amount']:.0f} USD). I added \"{title}\" to your calendar. "
        f"Note that I have not booked the ticket."
    )


PEOPLE = [("Priya", "priya.nair@example.com"), ("Tomás", "tomas.ruiz@example.com"), ("Aiko", "aiko.tanaka@example.com"),
          ("Femi", "femi.adeyemi@example.com"), ("Greta", "greta.lund@example.com"), ("Sam", "sam.okafor@example.com")]
MEETINGS = ["Project sync", "1:1", "Design review", "Budget planning", "Interview debrief", "Quarterly check-in"]
BUSY = ["Team stand-up", "Lunch with Marco", "Dentist", "Client call", "Focus time", "Sprint planning", "Hiring panel"]


def sc_calendar_slot(tid: str, rng: random.Random) -> dict[str, Any]:
    day = TODAY + timedelta(days=rng.randint(1, 8))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    person, email = rng.choice(PEOPLE)
    what = rng.choice(MEETINGS)
    duration = rng.choice([30, 45, 60])
    user = pick(rng, [
        "Set up a {m}-minute {w} with {p} on {d} in the afternoon, wherever I'm free. Invite {e}.",
        "Am I free on {d} afternoon? If so, book a {m} min \"{w}\" with {p} ({e}).",
    ], m=duration, w=what, p=person, d=nice_date(day), e=email)
    t = Trajectory(tid, rng, ["list_calendar_events", "create_calendar_event"], user)
    events = [{"title": "Team stand-up", "start": "09:30", "end": "09:45"}]
    cursor = 13 * 60
    for name in rng.sample(BUSY[1:], rng.randint(1, 3)):
        start = cursor + rng.choice([0, 30])
        length = rng.choice([30, 60, 90])
        events.append({"title": name, "start": f"{start // 60:02d}:{start % 60:02d}", "end": f"{(start + length) // 60:02d}:{(start + length) % 60:02d}"})
        cursor = start + length + rng.choice([0, 30, 60])
    t.step(f"I'll check what is already on the calendar on {day.isoformat()}.",
           ("list_calendar_events", {"date": day.isoformat()}, {"date": day.isoformat(), "events": events}))
    # First afternoon gap long enough.
    free = 13 * 60
    for ev in events[1:]:
        s = int(ev["start"][:2]) * 60 + int(ev["start"][3:])
        if s - free >= duration:
            break
        free = max(free, int(ev["end"][:2]) * 60 + int(ev["end"][3:]))
    start = f"{free // 60:02d}:{free % 60:02d}"
    busy_txt = ", ".join(f"{e['title']} {e['start']}–{e['end']}" for e in events[1:])
    title = f"{what} with {person}"
    t.step(f"The afternoon has {busy_txt}. The first free {duration}-minute gap starts at {start}, so I'll book it there.",
           ("create_calendar_event", {"title": title, "date": day.isoformat(), "start_time": start,
                                      "duration_minutes": duration, "attendees": [email]},
            {"status": "created", "event_id": "evt_" + hashlib.sha1(tid.encode()).hexdigest()[:8], "title": title,
             "start": f"{day.isoformat()}T{start}", "duration_minutes": duration, "invitations_sent": [email]}))
    return t.final(
        f"You were busy with {busy_txt} that afternoon, so I booked \"{title}\" on {nice_date(day)} at {start} for "
        f"{duration} minutes and sent an invitation to {email}."
    )


def sc_recipe_convert(tid: str, rng: random.Random) -> dict[str, Any]:
    ingredients, diet, idx, max_min = rng.choice(RECIPE_QUERIES)
    recipe = RECIPES[idx]
    item, qty, unit = recipe["main"]
    to_unit = "oz" if unit == "g" else "cup"
    user = pick(rng, [
        "I have {i} at home. Suggest a recipe{lim} and tell me how much {m} it needs in {u} — my scale is American.",
        "What can I cook with {i}{lim}? Please give me the ingredient amounts, and the {m} in {u}.",
    ], i=", ".join(ingredients), lim=f" that takes under {max_min} minutes" if max_min else "", m=item, u=UNIT_WORDS[to_unit])
    t = Trajectory(tid, rng, ["find_recipes", "get_recipe_details", "convert_units"], user)
    args: dict[str, Any] = {"ingredients": ingredients}
    if max_min:
        args["max_prep_minutes"] = max_min
    if diet != "any":
        args["diet"] = diet
    others = [r for r in RECIPES if r is not recipe]
    results = [recipe, *rng.sample(others, 1)]
    results = [r for r in results if not max_min or r["prep_minutes"] <= max_min] or [recipe]
    t.step("First I'll search for recipes using those ingredients.",
           ("find_recipes", args, {"results": [{"recipe_id": r["recipe_id"], "title": r["title"], "prep_minutes": r["prep_minutes"],
                                                "diet": r["diet"]} for r in results]}))
    details = {"recipe_id": recipe["recipe_id"], "title": recipe["title"], "servings": recipe["servings"],
               "prep_minutes": recipe["prep_minutes"],
               "ingredients": [{"item": i, "quantity": q, "unit": u} for i, q, u in recipe["ingredients"]], "steps": recipe["steps"]}
    t.step(f"\"{recipe['title']}\" matches best. I'll fetch its ingredient list.",
           ("get_recipe_details", {"recipe_id": recipe["recipe_id"]}, details))
    conv = convert_measure(qty, unit, to_unit)
    t.step(f"It needs {qty} {unit} of {item}; converting that to {UNIT_WORDS[to_unit]}.",
           ("convert_units", {"value": qty, "from_unit": unit, "to_unit": to_unit},
            {"value": qty, "from_unit": unit, "to_unit": to_unit, "result": conv}))
    listing = "; ".join(f"{q} {u if u != 'piece' else ''}{'s' if u == 'clove' and q > 1 else ''} {i}".replace("  ", " ")
                        for i, q, u in recipe["ingredients"])
    return t.final(
        f"Try {recipe['title']} ({recipe['prep_minutes']} minutes, serves {recipe['servings']}). You need: {listing}. "
        f"The {qty} {unit} of {item} is about {conv:g} {UNIT_WORDS[to_unit]}. Method: " + " ".join(recipe["steps"])
    )


def sc_stock_currency(tid: str, rng: random.Random) -> dict[str, Any]:
    sym = rng.choice(sorted(STOCKS))
    shares = rng.choice([5, 10, 12, 25, 40, 100])
    cur = rng.choice(["EUR", "GBP", "CAD", "CHF", "JPY", "INR", "AUD"])
    user = pick(rng, [
        "I own {n} shares of {s}. What are they worth right now in {c}?",
        "How much is my {s} position ({n} shares) worth today, converted to {c}?",
    ], n=shares, s=sym, c=cur)
    t = Trajectory(tid, rng, ["get_stock_quote", "convert_currency"], user)
    q = stock_quote(sym, rng)
    t.step(f"I need the current price of {sym}.", ("get_stock_quote", {"symbol": sym}, q))
    value = _r(q["price"] * shares)
    rate, conv = convert_money(value, "USD", cur)
    t.step(f"{shares} × {q['price']} USD = {value:,.2f} USD. Now converting to {cur}.",
           ("convert_currency", {"amount": value, "from_currency": "USD", "to_currency": cur},
            {"amount": value, "from_currency": "USD", "to_currency": cur, "rate": rate, "converted_amount": conv, "as_of": TODAY.isoformat()}))
    move = "up" if q["change_percent"] >= 0 else "down"
    return t.final(
        f"{q['name']} ({sym}) trades at {q['price']} USD, {move} {abs(q['change_percent']):.2f}% today. Your {shares} shares are "
        f"worth {value:,.2f} USD, which is about {fmt_money(conv, cur)} at {rate} {cur} per USD."
    )


def sc_stock_compare(tid: str, rng: random.Random) -> dict[str, Any]:
    a, b = rng.sample(sorted(STOCKS), 2)
    user = pick(rng, ["Which did better today, {a} or {b}?", "Quick check: how are {a} and {b} doing today?",
                      "Compare today's move in {a} versus {b}."], a=a, b=b)
    t = Trajectory(tid, rng, ["get_stock_quote"], user)
    qa, qb = stock_quote(a, rng), stock_quote(b, rng)
    t.step("I'll get both quotes at once.", ("get_stock_quote", {"symbol": a}, qa), ("get_stock_quote", {"symbol": b}, qb))
    best, other = (qa, qb) if qa["change_percent"] >= qb["change_percent"] else (qb, qa)

    def line(q: dict[str, Any]) -> str:
        return f"{q['name']} ({q['symbol']}) is at {q['price']} USD ({q['change_percent']:+.2f}%)"

    return t.final(f"{line(qa)}, and {line(qb)}. {best['symbol']} is doing better today by "
                   f"{best['change_percent'] - other['change_percent']:.2f} percentage points.")


def sc_phrases(tid: str, rng: random.Random) -> dict[str, Any]:
    lang = rng.choice(sorted(LANGUAGE_NAMES))
    p1, p2 = rng.sample(sorted(PHRASES), 2)
    user = pick(rng, [
        "How do I say \"{p1}\" and \"{p2}\" in {l}?",
        "I'm travelling soon. Translate these into {l}: \"{p1}\" / \"{p2}\"",
        "Please give me the {l} for two phrases: {p1} {p2}",
    ], p1=p1, p2=p2, l=LANGUAGE_NAMES[lang])
    t = Trajectory(tid, rng, ["translate_text"], user)
    r1 = {"translated_text": PHRASES[p1][lang], "source_language": "en", "target_language": lang}
    r2 = {"translated_text": PHRASES[p2][lang], "source_language": "en", "target_language": lang}
    t.step(f"Two independent translations into {LANGUAGE_NAMES[lang]} (code {lang}).",
           ("translate_text", {"text": p1, "target_language": lang, "source_language": "en"}, r1),
           ("translate_text", {"text": p2, "target_language": lang, "source_language": "en"}, r2))
    return t.final(f"In {LANGUAGE_NAMES[lang]}:\n- \"{p1}\" → {r1['translated_text']}\n- \"{p2}\" → {r2['translated_text']}")


def sc_timezone_meeting(tid: str, rng: random.Random) -> dict[str, Any]:
    a, b = rng.sample(CITIES, 2)
    instant = datetime(2024, 3, 14, rng.randint(0, 23), rng.choice([0, 15, 30, 45]), tzinfo=timezone.utc)
    user = pick(rng, [
        "What time is it now in {a} and in {b}? I want to call a colleague in {b} without waking them.",
        "I'm in {a}, my client is in {b}. What's the time difference right now?",
    ], a=a.name, b=b.name)
    t = Trajectory(tid, rng, ["get_time_in_timezone"], user)
    la, lb = local_time(a.tz, instant), local_time(b.tz, instant)
    t.step(f"{a.name} is in {a.tz} and {b.name} in {b.tz}; I'll look up both local times.",
           ("get_time_in_timezone", {"timezone": a.tz}, la), ("get_time_in_timezone", {"timezone": b.tz}, lb))
    oa = ZoneInfo(a.tz).utcoffset(instant.replace(tzinfo=None)) or timedelta(0)
    ob = ZoneInfo(b.tz).utcoffset(instant.replace(tzinfo=None)) or timedelta(0)
    diff = (ob - oa).total_seconds() / 3600
    hour_b = int(lb["local_time"][11:13])
    ok = 8 <= hour_b < 21
    rel = "the same time as" if diff == 0 else (f"{abs(diff):g} hours {'ahead of' if diff > 0 else 'behind'}")
    return t.final(
        f"It is {la['local_time'][11:]} on {la['weekday']} in {a.name} and {lb['local_time'][11:]} on {lb['weekday']} in {b.name}, "
        f"so {b.name} is {rel} {a.name}. "
        + ("That's a reasonable hour to call." if ok else f"It's {lb['local_time'][11:]} there, so better to wait until their morning.")
    )


def sc_restaurant_translate(tid: str, rng: random.Random) -> dict[str, Any]:
    city = rng.choice([c for c in CITIES if c.language in LANGUAGE_NAMES])
    cuisine = rng.choice(["seafood", "vegetarian", "local", "ramen", "tapas", "grill"])
    user = pick(rng, [
        "I'm in {c} tonight. Find me a good {k} place that's open now, and tell me how to ask for a table for two in the local language.",
        "Any {k} restaurants open right now in {c}? Also, how do I say \"A table for two, please\" there?",
    ], c=city.name, k=cuisine)
    t = Trajectory(tid, rng, ["search_restaurants", "translate_text"], user)
    names = ["Casa", "Tasca", "Kitchen", "Bistro", "Haus", "Ya", "Mesa", "Garden", "Corner"]
    results = []
    for _ in range(3):
        results.append({"name": f"{rng.choice(['Little', 'Old', 'Blue', 'Golden', 'North', 'River'])} {rng.choice(names)}",
                        "cuisine": cuisine, "rating": _r(rng.uniform(3.9, 4.8), 1), "price_level": rng.randint(1, 3),
                        "address": f"{rng.randint(2, 180)} {rng.choice(['Market', 'Harbour', 'Station', 'Park', 'Church'])} Street, {city.name}",
                        "open_now": True})
    results.sort(key=lambda r: -r["rating"])
    t.step(f"Searching open {cuisine} restaurants in {city.name}.",
           ("search_restaurants", {"location": city.name, "cuisine": cuisine, "open_now": True}, {"results": results}))
    phrase = "A table for two, please."
    tr = {"translated_text": PHRASES[phrase][city.language], "source_language": "en", "target_language": city.language}
    t.step(f"The local language in {city.name} is {LANGUAGE_NAMES[city.language]}; translating the request.",
           ("translate_text", {"text": phrase, "target_language": city.language}, tr))
    top = results[0]
    return t.final(
        f"The best-rated open {cuisine} place is {top['name']} at {top['address']} (rating {top['rating']}, price level "
        f"{top['price_level']} of 4). Alternatives: {results[1]['name']} ({results[1]['rating']}) and {results[2]['name']} "
        f"({results[2]['rating']}). To ask for a table in {LANGUAGE_NAMES[city.language]}: \"{tr['translated_text']}\""
    )


def sc_loan_compare(tid: str, rng: random.Random) -> dict[str, Any]:
    principal = rng.choice([150_000, 220_000, 280_000, 350_000, 420_000])
    rate = rng.choice([5.25, 5.75, 6.1, 6.5, 6.875, 7.2])
    short, long_ = rng.choice([(15, 30), (10, 25), (20, 30)])
    user = pick(rng, [
        "For a {p:,} mortgage at {r}%, compare a {s}-year and a {l}-year term: monthly payment and total interest.",
        "Should I take {s} or {l} years on a {p:,} loan at {r}% APR? Show me the payments for both.",
    ], p=principal, r=rate, s=short, l=long_)
    t = Trajectory(tid, rng, ["calculate_loan_payment"], user)
    ra, rb = loan(principal, rate, short), loan(principal, rate, long_)
    t.step("I'll compute both terms with the same principal and rate.",
           ("calculate_loan_payment", {"principal": principal, "annual_rate_percent": rate, "years": short}, ra),
           ("calculate_loan_payment", {"principal": principal, "annual_rate_percent": rate, "years": long_}, rb))
    return t.final(
        f"At {rate}% on {principal:,}: the {short}-year term costs {ra['monthly_payment']:,.2f} a month and "
        f"{ra['total_interest']:,.2f} in total interest; the {long_}-year term costs {rb['monthly_payment']:,.2f} a month and "
        f"{rb['total_interest']:,.2f} in interest. The longer term lowers the payment by "
        f"{ra['monthly_payment'] - rb['monthly_payment']:,.2f} a month but costs {rb['total_interest'] - ra['total_interest']:,.2f} "
        f"more overall. If the higher payment fits your budget comfortably, the {short}-year term is cheaper."
    )


def sc_package_reminder(tid: str, rng: random.Random) -> dict[str, Any]:
    carrier = rng.choice(["dhl", "ups", "fedex"])
    number = {"dhl": lambda: f"{rng.randint(10**9, 10**10 - 1)}", "ups": lambda: f"1Z{rng.randint(10**15, 10**16 - 1)}",
              "fedex": lambda: f"{rng.randint(10**11, 10**12 - 1)}"}[carrier]()
    eta = TODAY + timedelta(days=rng.randint(1, 4))
    hub = rng.choice(CITIES)
    user = pick(rng, [
        "Where is my parcel {n}? When it's due, put a reminder in my calendar to be home.",
        "Track {n} for me and add the delivery window to my calendar.",
    ], n=number)
    t = Trajectory(tid, rng, ["track_package", "create_calendar_event"], user)
    window = rng.choice([("09:00", "12:00"), ("12:00", "17:00"), ("08:00", "18:00")])
    status = {"tracking_number": number, "carrier": carrier, "status": "in_transit",
              "last_location": f"{hub.name}, {hub.country}", "estimated_delivery": {"date": eta.isoformat(), "window": list(window)},
              "history": [{"time": f"{(TODAY - timedelta(days=1)).isoformat()}T18:40", "event": "Departed sorting facility"},
                          {"time": f"{TODAY.isoformat()}T06:15", "event": f"Arrived at {hub.name} hub"}]}
    t.step("I'll look up the tracking status first.", ("track_package", {"tracking_number": number}, status))
    minutes = (int(window[1][:2]) - int(window[0][:2])) * 60
    title = f"Be home for {carrier.upper()} delivery"
    t.step(f"Delivery is expected on {eta.isoformat()} between {window[0]} and {window[1]}; I'll add that window as an event.",
           ("create_calendar_event", {"title": title, "date": eta.isoformat(), "start_time": window[0], "duration_minutes": minutes},
            {"status": "created", "event_id": "evt_" + hashlib.sha1(tid.encode()).hexdigest()[:8], "title": title,
             "start": f"{eta.isoformat()}T{window[0]}", "duration_minutes": minutes}))
    return t.final(
        f"Your {carrier.upper()} parcel {number} is in transit; it reached the {hub.name} hub this morning and is expected on "
        f"{nice_date(eta)} between {window[0]} and {window[1]}. I added \"{title}\" to your calendar for that window."
    )


def sc_holiday_trip(tid: str, rng: random.Random) -> dict[str, Any]:
    code = rng.choice(sorted(HOLIDAYS))
    country, days = HOLIDAYS[code]
    home = next(c for c in CITIES if c.country == country) if any(c.country == country for c in CITIES) else rng.choice(CITIES)
    dest = rng.choice([c for c in CITIES if c is not home])
    user = pick(rng, [
        "When is the next public holiday in {c}? I'd like to fly from {h} to {d} the day before it — what flights are there?",
        "I live in {h}. Find the next long weekend from public holidays and show me flights to {d} for it.",
    ], c=country, h=home.name, d=dest.name)
    t = Trajectory(tid, rng, ["get_public_holidays", "search_flights"], user)
    t.step(f"I need {country}'s 2024 public holidays to find the next one after today ({TODAY.isoformat()}).",
           ("get_public_holidays", {"country_code": code, "year": 2024},
            {"country_code": code, "year": 2024, "holidays": [{"date": d, "name": n} for d, n in days]}))
    nxt_d, nxt_n = next((d, n) for d, n in days if date.fromisoformat(d) > TODAY)
    fly = date.fromisoformat(nxt_d) - timedelta(days=1)
    fl = flights(home, dest, fly, rng)
    t.step(f"The next holiday is {nxt_n} on {nxt_d}. I'll search flights for the day before, {fly.isoformat()}.",
           ("search_flights", {"origin": home.airport, "destination": dest.airport, "date": fly.isoformat()}, {"flights": fl}))
    cheapest = min(fl, key=lambda f: f["price"]["amount"])
    opts = "; ".join(f"{f['flight_number']} at {f['departure'][11:]} ({stops_text(f['stops'])}, "
                     f"{f['price']['amount']:.0f} USD)" for f in fl)
    return t.final(
        f"The next public holiday in {country} is {nxt_n} on {nice_date(nxt_d)}. Flights {home.airport} → {dest.airport} on "
        f"{nice_date(fly)}: {opts}. The cheapest is {cheapest['flight_number']} for {cheapest['price']['amount']:.0f} USD."
    )


def sc_word_translate(tid: str, rng: random.Random) -> dict[str, Any]:
    word = rng.choice(sorted(WORDS))
    lang = rng.choice(sorted(WORDS[word]["translations"]))
    user = pick(rng, [
        "What does \"{w}\" mean, and what's the {l} word for it?",
        "Define {w} and translate it into {l}.",
    ], w=word, l=LANGUAGE_NAMES[lang])
    t = Trajectory(tid, rng, ["define_word", "translate_text"], user)
    senses = [{"part_of_speech": p, "definition": d, "example": e} for p, d, e in WORDS[word]["senses"]]
    t.step("I'll look up the definition first.", ("define_word", {"word": word}, {"word": word, "senses": senses}))
    tr = WORDS[word]["translations"][lang]
    t.step(f"Now the {LANGUAGE_NAMES[lang]} translation.",
           ("translate_text", {"text": word, "target_language": lang, "source_language": "en"},
            {"translated_text": tr, "source_language": "en", "target_language": lang}))
    meaning = " It can also mean: ".join(
        f"{s['definition'][0].lower()}{s['definition'][1:-1]} (e.g. \"{s['example']}\")." for s in senses)
    pos = senses[0]["part_of_speech"]
    return t.final(f"\"{word.capitalize()}\" is {'an' if pos[0] in 'aeiou' else 'a'} {pos} meaning {meaning} "
                   f"In {LANGUAGE_NAMES[lang]} it is \"{tr}\".")


UNIT_TASKS = [
    ("a parcel weighing {a} kg and {b} cm long", ("kg", "lb"), ("cm", "in"), (2.4, 18.0), (35, 120)),
    ("a hike of {a} km with {b} m of climbing", ("km", "mi"), ("m", "ft"), (8, 32), (300, 1500)),
    ("an aquarium of {a} l holding {b} kg of gravel", ("l", "gal"), ("kg", "lb"), (40, 240), (5, 25)),
    ("a recipe with {a} g of butter and {b} ml of cream", ("g", "oz"), ("ml", "cup"), (50, 250), (100, 500)),
    ("a sailboat {a} m long with a fuel tank of {b} l", ("m", "ft"), ("l", "gal"), (7, 15), (40, 200)),
]


def sc_units(tid: str, rng: random.Random) -> dict[str, Any]:
    desc, (u1, v1), (u2, v2), ra, rb = rng.choice(UNIT_TASKS)
    a = _r(rng.uniform(*ra), 1) if isinstance(ra[0], float) else rng.randint(*ra)  # type: ignore[arg-type]
    b = rng.randint(*rb)
    what = desc.format(a=a, b=b)
    user = pick(rng, ["I have {w}. Convert both numbers to US units, please.",
                      "Help me fill in a US form: {w}. What are those in imperial units?"], w=what)
    t = Trajectory(tid, rng, ["convert_units"], user)
    ca, cb = convert_measure(a, u1, v1), convert_measure(b, u2, v2)
    t.step("Two separate conversions; I'll run them together.",
           ("convert_units", {"value": a, "from_unit": u1, "to_unit": v1}, {"value": a, "from_unit": u1, "to_unit": v1, "result": ca}),
           ("convert_units", {"value": b, "from_unit": u2, "to_unit": v2}, {"value": b, "from_unit": u2, "to_unit": v2, "result": cb}))
    return t.final(f"{a} {UNIT_WORDS[u1]} is {ca:g} {UNIT_WORDS[v1]}, and {b} {UNIT_WORDS[u2]} is {cb:g} {UNIT_WORDS[v2]}.")


TYPOS = {"APPL": "AAPL", "MSFTT": "MSFT", "NVIDA": "NVDA", "TSLE": "TSLA", "GOOGLE": "GOOGL", "AMAZN": "AMZN", "DISNY": "DIS"}


def sc_stock_typo(tid: str, rng: random.Random) -> dict[str, Any]:
    typo = rng.choice(sorted(TYPOS))
    sym = TYPOS[typo]
    user = pick(rng, ["What's {t} trading at?", "Price of {t} stock please", "How is {t} doing today?"], t=typo)
    t = Trajectory(tid, rng, ["get_stock_quote"], user)
    t.step(f"I'll look up the ticker {typo} as given.",
           ("get_stock_quote", {"symbol": typo},
            {"error": "unknown_symbol", "message": f"No listing found for '{typo}'.", "suggestions": [sym]}))
    q = stock_quote(sym, rng)
    t.step(f"There is no listing for {typo}; the service suggests {sym} ({STOCKS[sym][0]}), which is almost certainly what was meant.",
           ("get_stock_quote", {"symbol": sym}, q))
    return t.final(
        f"There is no ticker \"{typo}\"; I assumed you meant {sym} ({q['name']}). It trades at {q['price']} USD on the "
        f"{q['exchange']}, {q['change_percent']:+.2f}% today (previous close {q['previous_close']} USD)."
    )


AMBIGUOUS = [
    ("Springfield", "Illinois", ["Springfield, Illinois, US", "Springfield, Missouri, US", "Springfield, Massachusetts, US"], (-1, 12)),
    ("Portland", "Maine", ["Portland, Oregon, US", "Portland, Maine, US"], (-3, 8)),
    ("Cambridge", "England", ["Cambridge, England, GB", "Cambridge, Massachusetts, US"], (3, 12)),
    ("San Jose", "Costa Rica", ["San Jose, California, US", "San José, Costa Rica"], (17, 27)),
    ("Victoria", "British Columbia", ["Victoria, British Columbia, CA", "Victoria, Seychelles", "Victoria, Texas, US"], (4, 11)),
]


def sc_ambiguous_city(tid: str, rng: random.Random) -> dict[str, Any]:
    name, region, candidates, (low, high) = rng.choice(AMBIGUOUS)
    chosen = next(c for c in candidates if region in c)
    user = pick(rng, ["What's the weather like in {n} right now? I mean the one in {r}.",
                      "Current weather for {n} ({r}), please."], n=name, r=region)
    t = Trajectory(tid, rng, ["get_current_weather"], user)
    t.step(f"Looking up the current weather in {name}.",
           ("get_current_weather", {"location": name},
            {"error": "ambiguous_location", "message": f"'{name}' matches several places.", "candidates": candidates}))
    temp = _r(rng.uniform(low, high), 1)
    cond = rng.choice(["partly cloudy", "overcast", "light rain", "sunny"])
    t.step(f"The name is ambiguous. The user said {region}, so I'll use \"{chosen}\".",
           ("get_current_weather", {"location": chosen},
            {"location": chosen, "temperature": temp, "unit": "celsius", "condition": cond,
             "humidity_percent": rng.randint(40, 90), "wind_kph": rng.randint(4, 30), "observed_at": f"{TODAY.isoformat()}T11:00"}))
    return t.final(f"In {chosen} it is currently {temp} °C with {cond} skies." if cond in ("partly cloudy", "overcast")
                   else f"In {chosen} it is currently {temp} °C and {'raining lightly' if cond == 'light rain' else cond}.")


def sc_call_family(tid: str, rng: random.Random) -> dict[str, Any]:
    city = rng.choice(CITIES)
    who = rng.choice(["mum", "dad", "grandmother", "brother", "best friend"])
    instant = datetime(2024, 3, 14, rng.randint(0, 23), rng.choice([0, 20, 40]), tzinfo=timezone.utc)
    user = pick(rng, ["My {w} lives in {c}. Is it a good time to call right now, and what's the weather there?",
                      "Thinking of phoning my {w} in {c}. What time is it there, and how's the weather?"], w=who, c=city.name)
    t = Trajectory(tid, rng, ["get_time_in_timezone", "get_current_weather"], user)
    lt = local_time(city.tz, instant)
    wn = weather_now(city, rng)
    wn["observed_at"] = lt["local_time"]
    t.step(f"{city.name} is in the {city.tz} time zone. I need the local time and the current weather; both can be fetched at once.",
           ("get_time_in_timezone", {"timezone": city.tz}, lt), ("get_current_weather", {"location": f"{city.name}, {city.country}"}, wn))
    hour = int(lt["local_time"][11:13])
    verdict = ("Good time to call" if 9 <= hour < 21 else
               "It's early morning there, maybe wait a couple of hours" if 6 <= hour < 9 else "It's the middle of the night there, better wait")
    return t.final(f"{verdict}: it's {lt['local_time'][11:]} on {lt['weekday']} in {city.name}. The weather is {wn['condition']} "
                   f"at {wn['temperature']} °C — something to chat about with your {who}.")


SCENARIOS: list[tuple[str, Callable[[str, random.Random], dict[str, Any]], int]] = [
    ("umbrella", sc_umbrella, 5),
    ("compare-weather", sc_compare_weather, 6),
    ("trip-budget", sc_trip_money_weather, 6),
    ("flight-weather", sc_flight_weather, 6),
    ("flight-calendar", sc_flight_calendar, 5),
    ("calendar-slot", sc_calendar_slot, 6),
    ("recipe", sc_recipe_convert, 6),
    ("stock-value", sc_stock_currency, 6),
    ("stock-compare", sc_stock_compare, 5),
    ("phrases", sc_phrases, 6),
    ("time-difference", sc_timezone_meeting, 5),
    ("restaurant", sc_restaurant_translate, 5),
    ("loan", sc_loan_compare, 5),
    ("parcel", sc_package_reminder, 5),
    ("holiday-trip", sc_holiday_trip, 5),
    ("word", sc_word_translate, 6),
    ("units", sc_units, 5),
    ("stock-typo", sc_stock_typo, 5),
    ("ambiguous-city", sc_ambiguous_city, 5),
    ("call-family", sc_call_family, 5),
]


def make_trajectories(seed: int) -> list[dict[str, Any]]:
    out = []
    for name, fn, count in SCENARIOS:
        for i in range(count):
            tid = f"demo-{name}-{i + 1:02d}"
            out.append(fn(tid, random.Random(f"{seed}/{tid}")))
    return out


def make_chats() -> list[dict[str, Any]]:
    rows = []
    for i, turns in enumerate(CHATS, start=1):
        conv = [{"from": "human" if j % 2 == 0 else "gpt", "value": text} for j, text in enumerate(turns)]
        rows.append({"id": f"chat-{i:03d}", "conversations": conv})
    return rows


def make_questions() -> list[dict[str, Any]]:
    return [{"id": f"q-{i:03d}", "question": q, "answer": a} for i, (q, a) in enumerate(QUESTIONS, start=1)]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: the package's demo folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    trajectories = make_trajectories(args.seed)
    chats, questions = make_chats(), make_questions()
    write_jsonl(args.out / "tool_trajectories.jsonl", trajectories)
    write_jsonl(args.out / "chat.jsonl", chats)
    write_jsonl(args.out / "questions.jsonl", questions)
    print(f"{len(trajectories)} trajectories, {len(chats)} chats, {len(questions)} questions -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
