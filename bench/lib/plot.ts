/**
 * Line charts as SVG text, through Vega-Lite (specification) and Vega
 * (headless rendering, no canvas needed). Used by the bench report and the
 * docs' figures.
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';

/** One named line of (x, y) points. */
export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** Titles and scales of a line chart. */
export interface LineChartOptions {
  readonly title: string;
  readonly x: string;
  readonly y: string;
  readonly logY?: boolean;
  readonly width?: number;
  readonly height?: number;
}

/** What every chart shares: schema, title, size, background and the legend. */
function frame(options: LineChartOptions): { $schema: string; title: string; width: number; height: number; background: string } {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: options.title, width: options.width ?? 560, height: options.height ?? 260, background: 'white' };
}

const LEGEND = { orient: 'top', labelLimit: 360, columns: 2 } as const;

/** Compiles a Vega-Lite spec and renders it to SVG without a canvas. */
async function render(spec: Parameters<typeof compile>[0]): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders the series as one line chart, coloured by series name. */
export async function lineChart(series: readonly Series[], options: LineChartOptions): Promise<string> {
  const values = series.flatMap((s) => s.points.map(([x, y]) => ({ series: s.name, x, y })));
  return render({
    ...frame(options),
    data: { values },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.x },
      y: { field: 'y', type: 'quantitative', title: options.y, scale: options.logY ? { type: 'log' } : {} },
      color: { field: 'series', type: 'nominal', title: null, legend: LEGEND },
    },
  });
}

/** One bar: a category on the x axis, a series (colour) and a value. */
export interface Bar {
  readonly category: string;
  readonly series: string;
  readonly value: number;
}

/**
 * Grouped bars: categories along x, one bar per series in each. On a log
 * scale the bars start at a tenth of the smallest value (a bar from zero has
 * no length on a log axis).
 */
export async function barChart(bars: readonly Bar[], options: LineChartOptions): Promise<string> {
  const floor = options.logY ? 10 ** Math.floor(Math.log10(Math.min(...bars.map((b) => b.value)) / 10)) : 0;
  return render({
    ...frame(options),
    data: { values: bars.map((b) => ({ ...b, base: floor })) },
    mark: 'bar',
    encoding: {
      x: { field: 'category', type: 'nominal', title: options.x, sort: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'series', type: 'nominal', sort: null },
      y: { field: 'value', type: 'quantitative', title: options.y, scale: options.logY ? { type: 'log', domainMin: floor } : {} },
      y2: { field: 'base' },
      color: { field: 'series', type: 'nominal', title: null, sort: null, legend: LEGEND },
    },
  });
}
