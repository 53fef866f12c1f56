"""What CloudFormation would make of a template for given parameters: conditions evaluated, `Fn::If`
taken, `AWS::NoValue` dropped, resources and outputs whose condition is false left out. Every other
intrinsic stays as written. For the tests of the template's optional parts (hosting, fixed egress)."""
from __future__ import annotations

_NOVALUE = {"Ref": "AWS::NoValue"}
_DROPPED = object()


class Effective:
    def __init__(self, template: dict, **values):
        self.template = template
        self.values = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
        self.values.update(values)

    def condition(self, name: str) -> bool:
        return self._truth(self.template["Conditions"][name])

    def _truth(self, expr):
        if isinstance(expr, dict) and len(expr) == 1:
            (fn, arg), = expr.items()
            if fn == "Ref":
                return self.values[arg]
            if fn == "Condition":
                return self.condition(arg)
            if fn == "Fn::Equals":
                return self._truth(arg[0]) == self._truth(arg[1])
            if fn == "Fn::Not":
                return not self._truth(arg[0])
            if fn == "Fn::And":
                return all(self._truth(a) for a in arg)
            if fn == "Fn::Or":
                return any(self._truth(a) for a in arg)
            raise AssertionError(f"condition function {fn}")
        return expr

    def resolve(self, node):
        value = self._resolve(node)
        return None if value is _DROPPED else value

    def _resolve(self, node):
        if isinstance(node, dict):
            if node == _NOVALUE:
                return _DROPPED
            if set(node) == {"Fn::If"}:
                name, then, otherwise = node["Fn::If"]
                return self._resolve(then if self.condition(name) else otherwise)
            if set(node) == {"Ref"} and node["Ref"] in self.values and node["Ref"] != "AWS::NoValue":
                return self.values[node["Ref"]]
            out = {k: self._resolve(v) for k, v in node.items()}
            return {k: v for k, v in out.items() if v is not _DROPPED}
        if isinstance(node, list):
            return [v for v in map(self._resolve, node) if v is not _DROPPED]
        return node

    def kept(self, section: str) -> dict:
        return {n: self.resolve(r) for n, r in self.template.get(section, {}).items()
                if "Condition" not in r or self.condition(r["Condition"])}
