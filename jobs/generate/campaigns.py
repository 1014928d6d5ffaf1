"""Outbound campaigns with A/B arms and planted effects.

Each campaign is sent on one day to consenting, still-active customers; every recipient gets a
random arm. Conversion is drawn per arm with systematic sampling (a random start plus the
arm's rate per recipient), so the realised rate tracks the true rate to within one recipient:
the planted effect is there to be found and the null campaign shows none, even at small scale.
Funnels: sent -> delivered | bounced -> opened -> clicked -> converted, some unsubscribed (which
also withdraws the marketing consent for that channel). Actions that fall on a later day wait
for that day's files; those after the window are never exported.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from jobs.generate.clock import DAY, NAIVE, OFFSET, Z
from jobs.generate.consents import ConsentGen
from jobs.generate.context import Context
from jobs.generate.people import Person, channel_affinity, consent_slot
from jobs.generate.seeds import hex_id

# channel: (bounce, open | delivered, click | opened (or | delivered without opens), unsubscribe | delivered)
FUNNEL = {
    "email": (0.04, 0.38, 0.25, 0.006),
    "sms": (0.02, 0.0, 0.10, 0.01),
    "push": (0.06, 0.12, 0.50, 0.003),
    "phone": (0.40, 0.0, 0.30, 0.02),      # a call's "clicked": the customer asked for the offer's details
}
MAX_CLICK = 0.95
ZONE = {"email": Z, "sms": NAIVE, "push": Z, "phone": OFFSET}   # each platform's timestamp habit
SHARD = {"email": 0, "sms": 1, "push": 1, "phone": 2}              # one export per platform
SEND_HOUR = {"email": 7, "sms": 10, "push": 17, "phone": 9}
UNSUBSCRIBE_SOURCE = {"email": "email_link", "sms": "sms_stop", "push": "app_settings", "phone": "call_center"}
EVENT_SHARE = 0.2             # campaign events ~ scale / 5


@dataclass
class Campaign:
    slug: str
    channel: str
    arms: dict[str, float]            # arm -> true conversion rate (share of recipients converting)
    role: str                         # planted_effect | null | regular
    send_frac: float                  # when in the window it goes out
    weight: float                     # share of the campaign volume
    campaign_id: str = ""
    send_day: int = 0
    target: int = 0                   # recipients wanted
    sent: dict[str, int] = field(default_factory=dict)        # good `sent` records per arm
    converted: dict[str, int] = field(default_factory=dict)   # good `converted` records per arm


def plan_campaigns(days: int) -> list[Campaign]:
    campaigns = [
        Campaign("WINTER-SUN", "email", {"control": 0.040, "A": 0.050}, "regular", 0.10, 1.0),
        Campaign("BAG-PROMO", "email", {"control": 0.050, "A": 0.060, "B": 0.080}, "planted_effect", 0.25, 3.0),
        Campaign("SKI-NEWS", "email", {"control": 0.040, "A": 0.040, "B": 0.040}, "null", 0.45, 3.0),
        Campaign("FLASH-SALE", "sms", {"control": 0.030, "A": 0.040}, "regular", 0.60, 1.0),
        Campaign("APP-UPGRADE", "push", {"control": 0.020, "B": 0.035}, "regular", 0.70, 1.0),
        Campaign("LOYALTY-CALL", "phone", {"control": 0.080, "A": 0.110}, "regular", 0.80, 0.5),
    ]
    # A weekly newsletter without A/B arms: most of the routine volume in long windows.
    campaigns += [Campaign(f"NEWSLETTER-W{w + 1:02d}", "email", {"control": 0.015}, "regular",
                           (w * 7 + 3) / days, 0.7) for w in range(days // 7)]
    return campaigns


def click_chance(p: Person, channel: str) -> float:
    """P(clicked | opened, or | delivered on channels without opens) for this person: the channel's
    average scaled by the person's planted affinity."""
    return min(MAX_CLICK, FUNNEL[channel][2] * channel_affinity(p, channel))


def response_probability(p: Person, channel: str) -> float:
    """Planted P(the person clicks | a message is sent on the channel), conversions aside: the
    truth's p_respond_<channel>, which the offers' acceptance probabilities build on."""
    bounce, p_open, _, _ = FUNNEL[channel]
    return round((1 - bounce) * (p_open or 1.0) * click_chance(p, channel), 4)


def events_per_recipient(channel: str, conversion: float) -> float:
    bounce, opened, clicked, unsub = FUNNEL[channel]
    after = (opened + opened * clicked) if opened else clicked
    return 2 + (1 - bounce) * (after + unsub) + conversion


class CampaignGen:
    def __init__(self, ctx: Context, consents: ConsentGen):
        self.ctx, self.consents = ctx, consents
        self.rng = ctx.seeds.rng("campaigns")
        self.campaigns = plan_campaigns(ctx.days)
        total_weight = sum(c.weight for c in self.campaigns)
        for c in self.campaigns:
            c.send_day = min(ctx.days - 1, int(c.send_frac * ctx.days))
            c.campaign_id = f"CMP-{ctx.clock.date(c.send_day):%Y%m}-{c.slug}"
            mean_rate = sum(c.arms.values()) / len(c.arms)
            events = ctx.scale * EVENT_SHARE * c.weight / total_weight
            c.target = max(1, round(events / events_per_recipient(c.channel, mean_rate)))
            c.sent = dict.fromkeys(c.arms, 0)
            c.converted = dict.fromkeys(c.arms, 0)
        self.pending: dict[int, list] = defaultdict(list)   # day -> [(t, campaign, arm, person, action)]

    def day(self, d: int) -> None:
        router = self.ctx.landing.router("campaigns", d)
        for t, c, arm, p, action in sorted(self.pending.pop(d, ()), key=lambda e: e[0]):
            self._write(router, t, c, arm, p, action)
        for c in self.campaigns:
            if c.send_day == d:
                self._send(router, c, d)
        router.close()

    def _send(self, router, c: Campaign, d: int) -> None:
        rng, persons = self.rng, self.ctx.world.persons
        slot = consent_slot("marketing", c.channel)
        eligible = [i for i in self.ctx.world.members
                    if persons[i].is_member(d) and persons[i].active(d) and persons[i].consents >> slot & 1]
        audience = rng.sample(eligible, c.target) if len(eligible) > c.target else eligible
        arms = list(c.arms)
        acc = {arm: rng.random() for arm in arms}   # systematic-sampling accumulators
        bounce, p_open, p_click, p_unsub = FUNNEL[c.channel]
        for i in audience:
            p = persons[i]
            arm = arms[rng.randrange(len(arms))]
            acc[arm] += c.arms[arm]
            converts = acc[arm] >= 1.0
            if converts:
                acc[arm] -= 1.0
            t = d * DAY + SEND_HOUR[c.channel] * 3600 + rng.random() * 7200
            steps = [(t, "sent")]
            if not converts and rng.random() < bounce:
                steps.append((t + rng.uniform(5, 600), "bounced"))
            else:
                t += rng.uniform(1, 60)
                steps.append((t, "delivered"))
                opened = False
                if p_open and (converts or rng.random() < p_open):
                    t += rng.expovariate(1 / 10800)
                    steps.append((t, "opened"))
                    opened = True
                if p_click and (converts or ((opened or not p_open) and rng.random() < click_chance(p, c.channel))):
                    t += rng.uniform(5, 900)
                    steps.append((t, "clicked"))
                if converts:
                    t += rng.expovariate(1 / 5400)
                    steps.append((t, "converted"))
                elif rng.random() < p_unsub:
                    steps.append((t + rng.uniform(30, 600), "unsubscribed"))
            for when, action in steps:
                day = int(when // DAY)
                if day == d:
                    self._write(router, when, c, arm, p, action)
                elif day < self.ctx.days:
                    self.pending[day].append((when, c, arm, p, action))

    def _write(self, router, t: float, c: Campaign, arm: str, p: Person, action: str) -> None:
        rng = self.rng
        rec = {"event_id": "EV" + hex_id(rng, 14), "campaign_id": c.campaign_id, "variant": arm,
               "channel": c.channel, "customer_id": p.crm_id,
               "occurred_at": self.ctx.clock.iso(t, ZONE[c.channel], p.offset_min), "action": action}
        line = router.write(rec, rec["event_id"], p.person_id, shard=SHARD[c.channel])
        if line is not None:
            if action == "sent":
                c.sent[arm] += 1
            elif action == "converted":
                c.converted[arm] += 1
        if action == "unsubscribed":
            self.consents.withdraw(p, c.channel, t + 1, UNSUBSCRIBE_SOURCE[c.channel])

    def truth(self) -> dict:
        campaigns = []
        for c in self.campaigns:
            control = c.arms.get("control", 0.0)
            arms = {}
            for arm, rate in c.arms.items():
                sent, conv = c.sent[arm], c.converted[arm]
                arms[arm] = {"true_conversion_rate": rate, "planted_lift_vs_control": round(rate - control, 4),
                             "recipients": sent, "converted": conv,
                             "observed_conversion_rate": round(conv / sent, 4) if sent else None}
            campaigns.append({"campaign_id": c.campaign_id, "channel": c.channel, "role": c.role,
                              "send_date": self.ctx.clock.day_text(c.send_day), "arms": arms})
        return {
            "conversion_definition": "share of recipients (good `sent` records) with a `converted` record; "
                                     "arms are assigned at random, conversions drawn per arm with systematic "
                                     "sampling so the realised rate tracks the true rate",
            "planted_effect_campaign": next(c.campaign_id for c in self.campaigns if c.role == "planted_effect"),
            "null_campaign": next(c.campaign_id for c in self.campaigns if c.role == "null"),
            "campaigns": campaigns,
        }
