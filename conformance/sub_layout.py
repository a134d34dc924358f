"""Which Sub ID slots a bundled receiver's profile uses, for the network that sends its postbacks.

Most networks return every Sub ID whole: the click ID rides in sub1, the source in sub2 and the
pixel's event ID in sub3. A network with Sub ID length limits cuts a long click ID: CAKE keeps 50
characters in s1 and 100 in s2-s5, and longer values "spill over into the next parameter"
(networks.md). There the click ID rides in the first slot after the source (CAKE reserves s1 for
the sub-affiliate and names s2 for a click ID:
https://support.getcake.com/support/solutions/articles/5000635160), the slots it may spill into
stay empty (profile `click_id_overflow`) and the postback URL sends each piece as one more
`click_id` parameter (`click_id={sub2}&click_id={sub3}&click_id={sub4}`), which the reference
receiver joins in order (a receiver reading only the first gets a cut click ID).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.macros import SUB_IDS
from simulator.personas import Persona
from simulator.platforms.clickids import LONGEST


@dataclass(frozen=True)
class SubLayout:
    """The slots of one profile: click ID (and its overflow), source, pixel event ID."""

    click_id_sub: str
    source_sub: str
    event_id_sub: str | None
    click_id_overflow: tuple[str, ...] = ()

    @property
    def click_id_query(self) -> str:
        """The click ID in the postback URL: one `click_id` per slot, its own slot first."""
        return "&".join("click_id={" + sub + "}"
                        for sub in (self.click_id_sub, *self.click_id_overflow))


DEFAULT = SubLayout(click_id_sub="sub1", source_sub="sub2", event_id_sub="sub3")


def layout_for(persona: Persona) -> SubLayout:
    """The layout for `persona`: the default, or one where the longest click ID survives its
    Sub ID limits."""
    if not persona.sub_limits:
        return DEFAULT
    free = list(SUB_IDS)
    source, click = free.pop(0), free.pop(0)
    room = persona.sub_limits.get(click, LONGEST)
    overflow: list[str] = []
    while room < LONGEST and free:
        overflow.append(free.pop(0))
        room += persona.sub_limits.get(overflow[-1], LONGEST)
    if room < LONGEST:
        raise ValueError(f"{persona.name}: its Sub IDs hold {room} characters together, "
                         f"fewer than a {LONGEST}-character click ID")
    return SubLayout(click_id_sub=click, source_sub=source,
                     event_id_sub=free[0] if free else None, click_id_overflow=tuple(overflow))
