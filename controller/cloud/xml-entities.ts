// XML character references in the text of an element, as the fast page readers (fast-describe-images.ts,
// fast-list-objects.ts) meet them: the five predefined entities and numeric references.
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** `text` with its entity and character references replaced; an unknown entity is left as it is. */
export function decodeXmlText(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, entity: string) => {
    if (entity[0] === "#")
      return String.fromCodePoint(
        entity[1] === "x" ? Number.parseInt(entity.slice(2), 16) : Number.parseInt(entity.slice(1), 10),
      );
    return ENTITIES[entity] ?? whole;
  });
}
