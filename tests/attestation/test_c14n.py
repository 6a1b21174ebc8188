"""The minimal C14N 1.1 used for RIM signatures, against the W3C specification's example."""

import pytest

from worker_manager.attestation.nvidia import c14n

# W3C "Canonical XML Version 1.1", section 3.3 (Start and End Tags).
SPEC_INPUT = b"""<doc>
   <e1   />
   <e2   ></e2>
   <e3   name = "elem3"   id="elem3"   />
   <e4   name="elem4"   id="elem4"   ></e4>
   <e5 a:attr="out" b:attr="sorted" attr2="all" attr="I'm"
      xmlns:b="http://www.ietf.org"
      xmlns:a="http://www.w3.org"
      xmlns="http://example.org"/>
   <e6 xmlns="" xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="" xmlns:a="http://www.w3.org">
            <e9 xmlns="" xmlns:a="http://www.ietf.org"/>
         </e8>
      </e7>
   </e6>
</doc>"""
SPEC_OUTPUT = b"""<doc>
   <e1></e1>
   <e2></e2>
   <e3 id="elem3" name="elem3"></e3>
   <e4 id="elem4" name="elem4"></e4>
   <e5 xmlns="http://example.org" xmlns:a="http://www.w3.org" xmlns:b="http://www.ietf.org" \
attr="I'm" attr2="all" b:attr="sorted" a:attr="out"></e5>
   <e6 xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="">
            <e9 xmlns:a="http://www.ietf.org"></e9>
         </e8>
      </e7>
   </e6>
</doc>"""


def test_spec_example_start_and_end_tags() -> None:
    assert c14n.canonicalize_document(c14n.parse(SPEC_INPUT)) == SPEC_OUTPUT


def test_text_and_attribute_escaping_and_comments() -> None:
    doc = c14n.parse(
        b'<?xml version="1.0"?><a t="1&#9;2&#10;&lt;&amp;&quot;">x &gt; y<!--c-->&#13;</a>'
    )
    assert c14n.canonicalize_document(doc) == (
        b'<a t="1&#x9;2&#xA;&lt;&amp;&quot;">x &gt; y&#xD;</a>'
    )


def test_subtree_carries_every_in_scope_namespace() -> None:
    root = c14n.parse(b'<r xmlns="urn:d" xmlns:p="urn:p"><p:s><t/></p:s></r>')
    (child,) = root.elements("urn:p", "s")
    assert c14n.canonicalize_subtree(child) == (b'<p:s xmlns="urn:d" xmlns:p="urn:p"><t></t></p:s>')


def test_enveloped_element_is_omitted_but_surrounding_text_kept() -> None:
    root = c14n.parse(b"<r>\n  <keep/>\n  <sig/>\n</r>")
    sig = root.elements("", "sig").__next__()
    assert c14n.canonicalize_document(root, omit=sig) == b"<r>\n  <keep></keep>\n  \n</r>"


@pytest.mark.parametrize(
    "data",
    [
        b'<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>',
        b"<r><?pi data?></r>",
        b"<r>",
        b"",
        b"<a/><b/>",
    ],
)
def test_refused_or_broken_documents(data: bytes) -> None:
    with pytest.raises(c14n.XmlError):
        c14n.parse(data)


def test_inherited_xml_attributes_are_refused_for_subtrees() -> None:
    root = c14n.parse(b'<r xml:lang="en"><s/></r>')
    (child,) = root.elements("", "s")
    with pytest.raises(c14n.XmlError):
        c14n.canonicalize_subtree(child)
