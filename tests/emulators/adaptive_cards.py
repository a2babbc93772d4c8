"""A checker for the Adaptive Card 1.5 subset Deskhand sends (element and action types, required and typed
properties, version gates as in adaptivecards.io's schema): what a Teams client would refuse or ignore."""

from __future__ import annotations

from typing import Any

VERSIONS = {"1.0": 0, "1.1": 1, "1.2": 2, "1.3": 3, "1.4": 4, "1.5": 5}
ELEMENTS = {"TextBlock": 0, "FactSet": 0, "Container": 0, "ColumnSet": 0, "Image": 0, "Input.Text": 0}
ACTIONS = {"Action.Submit": 0, "Action.OpenUrl": 0, "Action.ShowCard": 0, "Action.Execute": 4}
STYLES = {None, "default", "positive", "destructive"}
ASSOCIATED = {None, "auto", "none"}


def _action(action: Any, where: str, version: int) -> list[str]:
    if not isinstance(action, dict) or action.get("type") not in ACTIONS:
        return [f"{where}: unknown action {action!r:.60}"]
    problems = []
    if ACTIONS[action["type"]] > version:
        problems.append(f"{where}: {action['type']} needs card version 1.{ACTIONS[action['type']]}")
    if action.get("style") not in STYLES:
        problems.append(f"{where}: style {action.get('style')!r}")
    if action.get("associatedInputs") not in ASSOCIATED:
        problems.append(f"{where}: associatedInputs {action.get('associatedInputs')!r}")
    if "data" in action and not isinstance(action["data"], dict | str):
        problems.append(f"{where}: data must be an object or string")
    if action["type"] == "Action.Execute" and not isinstance(action.get("verb"), str):
        problems.append(f"{where}: Action.Execute needs a verb")
    if "fallback" in action and action["fallback"] != "drop":
        problems += _action(action["fallback"], f"{where}.fallback", version)
    return problems


def _element(element: Any, where: str, ids: set[str]) -> list[str]:
    if not isinstance(element, dict) or element.get("type") not in ELEMENTS:
        return [f"{where}: unknown element {element!r:.60}"]
    kind = element["type"]
    if kind == "TextBlock" and not isinstance(element.get("text"), str):
        return [f"{where}: TextBlock needs text"]
    if kind == "FactSet":
        facts = element.get("facts")
        ok = isinstance(facts, list) and all(
            isinstance(f.get("title"), str) and isinstance(f.get("value"), str) for f in facts
        )
        return [] if ok else [f"{where}: FactSet facts need string title and value"]
    if kind == "Input.Text":
        problems = []
        if not isinstance(element.get("id"), str) or not element["id"] or element["id"] in ids:
            problems.append(f"{where}: an input needs a unique id")
        ids.add(str(element.get("id")))
        if "maxLength" in element and not (isinstance(element["maxLength"], int) and element["maxLength"] > 0):
            problems.append(f"{where}: maxLength must be a positive integer")
        for flag in ("isMultiline", "isRequired"):
            if flag in element and not isinstance(element[flag], bool):
                problems.append(f"{where}: {flag} must be a boolean")
        if element.get("isRequired") and not isinstance(element.get("label"), str):
            problems.append(f"{where}: a required input needs a label (accessibility)")
        return problems
    return []


def card_problems(card: Any) -> list[str]:
    """Empty when `card` is a valid Adaptive Card within the subset above."""
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        return ["not an AdaptiveCard"]
    version = VERSIONS.get(str(card.get("version")))
    if version is None:
        return [f"unknown version {card.get('version')!r}"]
    ids: set[str] = set()
    problems = [p for n, e in enumerate(card.get("body") or []) for p in _element(e, f"body[{n}]", ids)]
    problems += [p for n, a in enumerate(card.get("actions") or []) for p in _action(a, f"actions[{n}]", version)]
    return problems
