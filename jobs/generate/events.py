"""Web and app behaviour as Segment-Spec messages, generated session by session, hour by hour.

A session belongs to one person on one device. People browse anonymously (anonymousId only),
sign in at some point (`Signed In` + `identify` with userId, anonymousId and traits, plus an
`alias` the first time on a device) and stay signed in on that device for later sessions.
Visitors without an account sometimes give name/email/birthday/address in an `identify`
without userId. Airport kiosks share one anonymousId between many travellers. Server-side
events carry the userId only. Purchases write the order (orders.py) and `Order Completed`.

Hot path: one dict per message, hand-formatted timestamps, one JSON encode; no per-event
datetime objects. Traffic follows an hourly curve; each third of the day goes to its own file.
"""

from __future__ import annotations

from math import log

from jobs.generate import refdata as ref
from jobs.generate.clock import DAY
from jobs.generate.context import Context
from jobs.generate.orders import ORDERS_PER_EVENT, WEB_SHARE, OrderGen
from jobs.generate.people import Person
from jobs.generate.seeds import uuid4
from jobs.generate.variants import email_as_typed, name_as_typed, phone_as_typed
from jobs.generate.writer import ENCODE

# Share of traffic per UTC hour (a mostly European audience: lunch and evening peaks).
HOUR_WEIGHT = (0.5, 0.3, 0.2, 0.2, 0.2, 0.4, 0.8, 1.4, 2.0, 2.4, 2.6, 2.8,
               3.0, 2.8, 2.6, 2.6, 2.7, 3.0, 3.4, 3.8, 3.6, 2.8, 1.8, 1.0)
_HOUR_TOTAL = sum(HOUR_WEIGHT)
SERVER_SHARE = 0.04           # server-side events (userId only)
KIOSK_SESSIONS = 0.01
SIGN_IN = 0.35                # chance a signed-out member signs in during a session
SIGN_OUT = 0.03
ALIAS = 0.3                   # first sign-in on a device also sends an alias
ANON_IDENTIFY = 0.06          # visitors without an account leaving their details
RETRY = 0.004                 # messages sent twice by a flaky client (same messageId)
EXTRA_FIELDS = 0.015          # messages with fields the contract does not know
REFERRERS = ("", "", "https://www.google.com/", "https://www.google.fr/", "https://www.bing.com/",
             "https://www.facebook.com/", "https://www.instagram.com/", "https://www.kayak.fr/")
UTM = (("winter-sun", "newsletter", "email"), ("flash-sale", "sms", "sms"), ("brand", "google", "cpc"),
       ("retargeting", "facebook", "paid_social"))
EXTRAS = (("_metadata", {"bundled": ["Segment.io"], "unbundled": []}), ("integrations", {"All": True}),
          ("version", 2), ("channel", "client"))
FIRST_MEAN_SESSION = 9.0      # messages per session assumed before any was generated


def buy_chance(mean_session: float, business: bool, has_account: bool) -> float:
    """The chance a web/app session ends in a purchase. Calibrated so web/app orders ~ WEB_SHARE of
    scale/15; business travellers and account holders buy more."""
    base = ORDERS_PER_EVENT * WEB_SHARE * mean_session * (1 - SERVER_SHARE)
    return base * (1.3 if business else 1.0) * (1.0 if has_account else 0.6)


SERVER_EVENTS = ("Checkin Completed", "Boarding Pass Issued", "Loyalty Points Earned", "Flight Reminder Sent")


class EventGen:
    def __init__(self, ctx: Context, orders: OrderGen):
        self.ctx, self.orders = ctx, orders
        self.rng = ctx.seeds.rng("events")
        self.clock = ctx.clock
        self.persons = ctx.world.persons
        self.written = 0              # lines written (retries included): the `scale` budget
        self.sessions = 0
        self.mean_session = FIRST_MEAN_SESSION   # running mean, to size the session arrival rate
        self.retries: list[bytes] = []
        self.router = None
        self.shard = 0

    # ---------------------------------------------------------------- day and hour loops
    def day(self, d: int) -> None:
        ctx, rng = self.ctx, self.rng
        self.router = ctx.landing.router("events", d)
        budget = ctx.scale * ctx.day_weights[d]
        for hour in range(24):
            self.shard = hour // 8
            hour_budget = budget * HOUR_WEIGHT[hour] / _HOUR_TOTAL
            # Sessions arrive as a Poisson process sized from the hour's share of the budget.
            per_second = hour_budget * (1 - SERVER_SHARE) / self.mean_session / 3600
            t, end = d * DAY + hour * 3600, d * DAY + (hour + 1) * 3600
            if per_second > 0:
                t += rng.expovariate(per_second)
                while t < end:
                    self._session(d, t)
                    t += rng.expovariate(per_second)
            for _ in range(round(hour_budget * SERVER_SHARE)):
                self._server_event(d, d * DAY + hour * 3600 + rng.random() * 3600)
        self._flush_retries()
        self.router.close()
        self.router = None

    def _flush_retries(self) -> None:
        # Retried lines land in whatever file is current: often another file than the original.
        for line in self.retries:
            self.router.write_again(line, self.shard)
            self.written += 1
        self.retries.clear()

    # ---------------------------------------------------------------- one message
    def _emit(self, msg: dict, t: float, shift: int, suffix: str, tail: str, person: Person) -> None:
        """Stamp and write one message; `tail` is its context, already encoded."""
        random, stamp = self.rng.random, self.clock.stamp
        sent = t + random() * 2                     # batched by the SDK, then in flight
        msg["timestamp"] = stamp(t, shift, suffix)
        msg["sentAt"] = stamp(sent, shift, suffix)
        msg["receivedAt"] = stamp(sent + 0.05 + random() * 1.5, 0, "Z")   # the collector's clock: UTC
        if random() < EXTRA_FIELDS:
            key, value = EXTRAS[int(random() * len(EXTRAS))]
            msg[key] = value
        line = self.router.write(msg, msg["messageId"], person.person_id, self.shard, tail)
        self.written += 1
        if line is not None and random() < RETRY:
            self.retries.append(line)

    # ---------------------------------------------------------------- sessions
    def _session(self, d: int, t: float) -> None:
        rng, world = self.rng, self.ctx.world
        kiosk = -1
        if rng.random() < KIOSK_SESSIONS:
            kiosk = rng.randrange(len(world.kiosks))
            p = self.persons[world.kiosk_pool[rng.randrange(len(world.kiosk_pool))]]
            device, dev_bit = world.kiosks[kiosk], 0
        else:
            p = world.pick(rng)
            if not p.active(d):
                p = world.pick(rng)   # one more try keeps volume up without reviving churners
            dev_i = rng.randrange(len(p.devices))
            device, dev_bit = p.devices[dev_i], 1 << dev_i
        if not p.active(d):
            return
        before = self.written
        member = p.is_member(d)
        logged_in = kiosk < 0 and member and bool(p.logged_in & dev_bit)
        web = device.kind != "mobile"
        bits = rng.getrandbits(24)
        ctx = {"channel": "web" if web else "mobile", "ip": f"{81 + bits % 13}.{bits >> 8 & 255}.{bits >> 16}.{1 + bits % 250}",
               "userAgent": device.user_agent, "locale": p.locale}
        if rng.random() < 0.08:
            name, source, medium = UTM[int(rng.random() * len(UTM))]
            ctx["campaign"] = {"name": name, "source": source, "medium": medium}
        s = _Session(self, p, device, d, t, web, ENCODE(ctx), logged_in)
        if kiosk >= 0:
            world.kiosk_users[kiosk].add(p.idx)
            p.kiosk_used = True
            self._kiosk_session(s, member)
        else:
            self._web_session(s, member, dev_bit)
        self.sessions += 1
        self.mean_session += ((self.written - before) - self.mean_session) / min(self.sessions, 500)
        if self.retries and rng.random() < 0.3:
            self._flush_retries()

    def _web_session(self, s: _Session, member: bool, dev_bit: int) -> None:
        rng, p = self.rng, s.p
        signup_today = member and p.crm_day == s.d and not p.logged_in >> 4   # never signed in anywhere
        wants_in = member and not s.logged_in and (signup_today or rng.random() < SIGN_IN)
        buys = rng.random() < self._buy_chance(p)
        if rng.random() < 0.6:
            s.page("Home", "/")
        else:
            s.page("Deals", "/deals")
        if wants_in and (signup_today or rng.random() < 0.5):
            self._sign_in(s, dev_bit, "Signed Up" if signup_today else "Signed In")
        for _ in range(1 + min(12, int(rng.expovariate(1 / 2.5)))):
            s.browse()
        if not member and rng.random() < ANON_IDENTIFY:
            s.identify(None, self._traits(p, full=rng.random() < 0.5))
        if buys:
            if wants_in and not s.logged_in:
                self._sign_in(s, dev_bit, "Signed In")
            self._purchase(s)
        elif wants_in and not s.logged_in:
            self._sign_in(s, dev_bit, "Signed In")
        if s.logged_in and rng.random() < SIGN_OUT:
            s.track("Signed Out", {})
            p.logged_in &= ~dev_bit

    def _kiosk_session(self, s: _Session, member: bool) -> None:
        """Check-in at an airport kiosk: a shared device, signed in by whoever stands there."""
        s.page("Kiosk Check-in", "/kiosk/checkin")
        if member:
            s.logged_in = True
            s.identify(s.p.crm_id, {"email": s.p.email})
            s.track("Signed In", {"method": "booking_reference"})
        s.track("Checkin Completed", {"flight": f"VA{self.rng.randint(100, 9999)}", "seats": s.p.party_size})
        s.page("Boarding Pass", "/kiosk/boarding-pass")

    def _sign_in(self, s: _Session, dev_bit: int, event: str) -> None:
        p, rng = s.p, self.rng
        # Segment's order: identify (userId + anonymousId + traits), then the track, now with userId.
        s.logged_in = True
        s.identify(p.crm_id, self._traits(p, full=event == "Signed Up"))
        s.track(event, {"method": rng.choice(("password", "password", "google", "apple", "magic_link"))})
        never_before = not p.logged_in & (dev_bit << 4)
        if never_before and rng.random() < ALIAS:
            s.alias()
        p.logged_in |= dev_bit | dev_bit << 4   # low bits: signed in now; high bits: ever

    def _purchase(self, s: _Session) -> None:
        p, rng = s.p, self.rng
        s.track("Checkout Started", {"step": 1})
        guest = not s.logged_in
        if guest and rng.random() < 0.5:
            s.identify(None, {"email": email_as_typed(p.email, rng) if rng.random() < 0.3 else p.email})
        s.t += rng.uniform(60, 400)
        order = self.orders.place(p, s.d, s.t, "web" if s.web else "app", guest=guest)
        products = [{"product_id": i["sku"], "sku": i["sku"], "category": i["category"],
                     "price": i["unit_price"], "quantity": i["quantity"]} for i in order["items"]]
        s.track("Order Completed", {"order_id": order["order_id"], "total": order["total_amount"],
                                    "revenue": order["total_amount"], "currency": order["currency"],
                                    "products": products})
        s.page("Confirmation", "/booking/confirmation")

    def _buy_chance(self, p: Person) -> float:
        return buy_chance(self.mean_session, p.segment == "business", p.crm_id is not None)

    def _traits(self, p: Person, full: bool) -> dict:
        rng = self.rng
        first, last = name_as_typed(p.first_name, p.last_name, rng, noise=0.12)
        email = p.personal_email if rng.random() < 0.2 else p.email
        traits = {"email": email_as_typed(email, rng) if rng.random() < 0.08 else email,
                  "firstName": first, "lastName": last}
        if full or rng.random() < 0.4:
            traits["phone"] = phone_as_typed(p.phone, p.country, rng, national_ok=False)
        if full or rng.random() < 0.3:
            traits["birthday"] = p.birth_date.isoformat()
        if full or rng.random() < 0.2:
            traits["address"] = {"street": p.street, "city": p.city, "postalCode": p.postal_code,
                                 "state": p.state, "country": p.country}
        return traits

    def _server_event(self, d: int, t: float) -> None:
        p = self.ctx.world.pick(self.rng)
        if not (p.is_member(d) and p.active(d)):
            return
        msg = {"messageId": uuid4(self.rng), "type": "track",
               "event": SERVER_EVENTS[int(self.rng.random() * len(SERVER_EVENTS))],
               "userId": p.crm_id, "properties": {"booking_ref": f"{self.rng.getrandbits(30):08X}"[:6]}}
        self._emit(msg, t, 0, "Z", ',"context":{"channel":"server"}', p)


class _Session:
    """Per-session state and the message builders; `t` advances a few seconds per message."""

    __slots__ = ("gen", "p", "device", "d", "t", "web", "ctx_json", "logged_in", "referrer", "shift", "suffix")

    def __init__(self, gen: EventGen, p: Person, device, d: int, t: float, web: bool, ctx_json: str,
                 logged_in: bool):
        self.gen, self.p, self.device, self.d, self.t = gen, p, device, d, t
        self.web, self.ctx_json, self.logged_in = web, ctx_json, logged_in
        self.referrer = (REFERRERS[int(gen.rng.random() * len(REFERRERS))] if device.kind == "web"
                         else "" if web else None)   # a kiosk opens on its own start page
        self.shift, self.suffix = gen.clock.suffix(device.zone, p.offset_min)

    def _base(self, mtype: str) -> dict:
        msg = {"messageId": uuid4(self.gen.rng), "type": mtype, "anonymousId": self.device.anonymous_id}
        if self.logged_in:
            msg["userId"] = self.p.crm_id
        elif self.web:
            msg["userId"] = None   # analytics.js sends an explicit null before sign-in
        return msg

    def _send(self, msg: dict, ctx_json: str | None = None) -> None:
        self.t += 2 - 25 * log(1.0 - self.gen.rng.random())   # 2 s plus an exponential pause (mean 25 s)
        self.gen._emit(msg, self.t, self.shift, self.suffix, ',"context":' + (ctx_json or self.ctx_json), self.p)

    def page(self, name: str, path: str) -> None:
        msg = self._base("page" if self.web else "screen")
        msg["name"] = name
        if self.web:
            url = ref.SITE + path
            msg["properties"] = {"title": name + " | Voyagair", "path": path, "url": url}
            # Hand-built: paths and URLs here are plain ASCII without quotes, nothing to escape.
            page = f'{{"path":"{path}","url":"{url}","referrer":"{self.referrer}"}}'
            self.referrer = url
            self._send(msg, self.ctx_json[:-1] + ',"page":' + page + "}")
        else:
            msg["properties"] = {"screen": name}
            self._send(msg)

    def track(self, event: str, properties: dict) -> None:
        msg = self._base("track")
        msg["event"] = event
        msg["properties"] = properties
        self._send(msg)

    def identify(self, user_id: str | None, traits: dict) -> None:
        msg = {"messageId": uuid4(self.gen.rng), "type": "identify", "anonymousId": self.device.anonymous_id}
        if user_id:
            msg["userId"] = user_id
        msg["traits"] = traits
        self._send(msg)

    def alias(self) -> None:
        msg = {"messageId": uuid4(self.gen.rng), "type": "alias", "previousId": self.device.anonymous_id,
               "userId": self.p.crm_id}
        self._send(msg)

    def browse(self) -> None:
        """A search or a product view: one track plus the page/screen it happens on."""
        random, p = self.gen.rng.random, self.p
        airports = ref.HOME_AIRPORTS[p.country]
        origin = airports[int(random() * len(airports))]
        pool = ref.LONG_HAUL if random() < 0.25 else ref.SHORT_HAUL
        dest = pool[int(random() * len(pool))]
        departure = self.gen.clock.day_text(self.d + 2 + int(random() * 118))
        if random() < 0.5:
            self.track("Products Searched", {"origin": origin, "destination": dest, "departure_date": departure,
                                             "passengers": p.party_size})
            self.page("Search Results", f"/search/{origin}-{dest}")
        else:
            self.track("Product Viewed", {"product_id": f"FL-{origin}-{dest}", "departure_date": departure,
                                          "price": round(45 + random() * 855, 2), "currency": "EUR"})
            self.page("Flight Details", f"/flights/{origin}-{dest}")
