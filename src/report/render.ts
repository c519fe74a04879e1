/**
 * vega-lite spec → SVG, in Node, with no browser and no network: the report embeds the SVG, so it
 * opens offline and needs no JavaScript.
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';

export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const compiled = compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
