// Generated from wit/ by `npm run gen:wit` (jco guest-types). Do not edit: a test fails on drift.
declare module 'alga:extension/log@0.1.0' {
  export function emit(level: Level, message: string, fields: Array<[string, string]>): void;
  /**
   * # Variants
   * 
   * ## `"debug"`
   * 
   * ## `"info"`
   * 
   * ## `"warn"`
   * 
   * ## `"error"`
   */
  export type Level = 'debug' | 'info' | 'warn' | 'error';
}
