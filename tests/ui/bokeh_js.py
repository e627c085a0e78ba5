"""JavaScript the browser tests evaluate to see what the page's Bokeh plots hold."""

#: ``[[glyph type, points (or pixels) it holds], ...]`` for every glyph renderer on the page.
GLYPHS_DRAWN = """() => {
  const found = [];
  for (const doc of window.Bokeh.documents) {
    for (const model of doc.all_models) {
      if (model.type === "GlyphRenderer" || model.constructor.name === "GlyphRenderer") {
        const data = model.data_source.data;
        const first = Object.keys(data)[0];
        found.push([model.glyph.type || model.glyph.constructor.name,
                    first ? data[first].length : 0]);
      }
    }
  }
  return found;
}"""
