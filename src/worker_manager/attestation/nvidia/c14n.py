"""Just enough XML for NVIDIA RIMs: a prefix-preserving parse and inclusive C14N 1.1.

NVIDIA signs its RIMs (SWID tags) with an enveloped XML signature whose
canonicalization is C14N 1.1 (``http://www.w3.org/2006/12/xml-c14n11``). The
standard library has only C14N 2.0, and lxml/signxml would be large new
dependencies, so this module implements the part of C14N 1.1 those documents
need: elements, attributes, namespace declarations and text, rendered either as
a whole document minus one element (the enveloped-signature transform) or as
one subtree (``SignedInfo``), whose apex then carries every in-scope namespace.

Refused rather than half-supported: DTDs and entity declarations (this also
stops entity-expansion attacks), processing instructions, and inherited
``xml:*`` attributes on a canonicalized subtree. Comments are dropped, as C14N
without comments requires. The output was checked against the real driver RIM:
its digest and signature verify.
"""

import xml.parsers.expat
from collections.abc import Iterator
from dataclasses import dataclass, field

XML_NS = "http://www.w3.org/XML/1998/namespace"


class XmlError(ValueError):
    """The document is not well-formed or uses a construct we refuse."""


@dataclass(eq=False)
class XmlElement:
    """An element exactly as written: qualified name, attributes in order, children."""

    qname: str
    attributes: list[tuple[str, str]]
    parent: "XmlElement | None" = None
    children: list["XmlElement | str"] = field(default_factory=list)

    def in_scope_namespaces(self) -> dict[str, str]:
        """Prefix -> URI for every namespace in scope here ('' is the default)."""
        chain: list[XmlElement] = []
        node: XmlElement | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        scope = {"": ""}
        for element in reversed(chain):
            for name, value in element.attributes:
                if name == "xmlns":
                    scope[""] = value
                elif name.startswith("xmlns:"):
                    scope[name[6:]] = value
        return scope

    def expanded_name(self) -> tuple[str, str]:
        """(namespace URI, local name)."""
        prefix, _, local = self.qname.rpartition(":")
        return self.in_scope_namespaces().get(prefix, ""), local

    def attribute(self, namespace: str, local: str) -> str | None:
        """The value of an attribute by expanded name, or None."""
        scope = self.in_scope_namespaces()
        for name, value in self.attributes:
            if name == "xmlns" or name.startswith("xmlns:"):
                continue
            prefix, _, attr_local = name.rpartition(":")
            uri = XML_NS if prefix == "xml" else (scope.get(prefix, "") if prefix else "")
            if (uri, attr_local) == (namespace, local):
                return value
        return None

    def elements(self, namespace: str, local: str) -> Iterator["XmlElement"]:
        """Child elements with this expanded name, in document order."""
        for child in self.children:
            if isinstance(child, XmlElement) and child.expanded_name() == (namespace, local):
                yield child

    def text(self) -> str:
        """Concatenated text children (not descendants)."""
        return "".join(c for c in self.children if isinstance(c, str))


def parse(data: bytes) -> XmlElement:
    """Parse a document, keeping prefixes and attribute order; raise XmlError."""
    parser = xml.parsers.expat.ParserCreate()
    parser.ordered_attributes = True
    parser.buffer_text = True
    stack: list[XmlElement] = []
    roots: list[XmlElement] = []

    def start(name: str, attrs: list[str]) -> None:
        element = XmlElement(name, list(zip(attrs[::2], attrs[1::2], strict=True)))
        if stack:
            element.parent = stack[-1]
            stack[-1].children.append(element)
        else:
            roots.append(element)
        stack.append(element)

    def end(_name: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].children.append(data)

    def refuse(*_args: object) -> None:
        raise XmlError("DTDs, entities and processing instructions are not accepted")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ProcessingInstructionHandler = refuse
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise XmlError(f"not well-formed XML: {exc}") from exc
    if len(roots) != 1:
        raise XmlError("a document needs exactly one root element")
    return roots[0]


def _escape_text(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")
    )


def _escape_attr(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace("\t", "&#x9;")
        .replace("\n", "&#xA;")
        .replace("\r", "&#xD;")
    )


def _render(
    element: XmlElement,
    parent_scope: dict[str, str] | None,
    omit: XmlElement | None,
    out: list[str],
) -> None:
    scope = element.in_scope_namespaces()
    out.append("<" + element.qname)
    for prefix, uri in sorted(scope.items()):
        if parent_scope is None:
            rendered = not (prefix == "" and uri == "")
        else:
            rendered = parent_scope.get(prefix, "" if prefix == "" else None) != uri
        if rendered:
            name = "xmlns" if prefix == "" else f"xmlns:{prefix}"
            out.append(f' {name}="{_escape_attr(uri)}"')
    keyed: list[tuple[tuple[str, str], str, str]] = []
    for name, value in element.attributes:
        if name == "xmlns" or name.startswith("xmlns:"):
            continue
        prefix, _, local = name.rpartition(":")
        uri = XML_NS if prefix == "xml" else (scope.get(prefix, "") if prefix else "")
        keyed.append(((uri, local), name, value))
    for _, name, value in sorted(keyed):
        out.append(f' {name}="{_escape_attr(value)}"')
    out.append(">")
    for child in element.children:
        if isinstance(child, str):
            out.append(_escape_text(child))
        elif child is not omit:
            _render(child, scope, omit, out)
    out.append(f"</{element.qname}>")


def canonicalize_document(root: XmlElement, *, omit: XmlElement | None = None) -> bytes:
    """C14N 1.1 of the whole document, optionally without one element (enveloped signature)."""
    out: list[str] = []
    _render(root, None, omit, out)
    return "".join(out).encode()


def canonicalize_subtree(element: XmlElement) -> bytes:
    """C14N 1.1 of one element and its descendants, as a document subset."""
    node = element.parent
    while node is not None:
        if any(name.startswith("xml:") for name, _ in node.attributes):
            raise XmlError("inherited xml:* attributes are not supported")
        node = node.parent
    out: list[str] = []
    _render(element, None, None, out)
    return "".join(out).encode()
