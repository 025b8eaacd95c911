/** A row's recent CPU % as a tiny line on a canvas: no DOM nodes per point. */
import { Component } from 'preact';
import { sparkValues, type FleetRow } from '../fleet.ts';

const W = 96;
const H = 22;
/** Readable on the light and the dark theme; a computed style per draw would cost a style recalculation. */
const STROKE = '#3b82f6';

export class Sparkline extends Component<{ row: FleetRow; rev: number }> {
  private canvas: HTMLCanvasElement | null = null;

  override shouldComponentUpdate(next: { row: FleetRow; rev: number }): boolean {
    return next.rev !== this.props.rev || next.row !== this.props.row;
  }
  override componentDidMount(): void {
    this.draw();
  }
  override componentDidUpdate(): void {
    this.draw();
  }

  private draw(): void {
    const c = this.canvas;
    if (!c) return;
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== W * dpr) {
      c.width = W * dpr;
      c.height = H * dpr;
    }
    const g = c.getContext('2d');
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    const values = sparkValues(this.props.row);
    if (values.length < 2) return;
    const step = W / (values.length - 1);
    g.beginPath();
    values.forEach((v, i) => {
      const y = H - 1 - (Math.min(100, Math.max(0, v)) / 100) * (H - 2);
      if (i === 0) g.moveTo(0, y);
      else g.lineTo(i * step, y);
    });
    g.lineWidth = 1.25;
    g.strokeStyle = STROKE;
    g.stroke();
  }

  override render() {
    return <canvas ref={(c) => {
          this.canvas = c;
        }} class="spark" style={{ width: `${W}px`, height: `${H}px` }} aria-hidden="true" />;
  }
}
