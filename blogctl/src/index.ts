export {
  runLoad,
  kindOf,
  REJECTED_EVERY,
  type LoadMix,
  type LoadOptions,
  type LoadReport,
  type SecondFigures,
  type KindFigures,
} from './load/generator';
export { percentiles, type Percentiles } from './load/percentiles';
