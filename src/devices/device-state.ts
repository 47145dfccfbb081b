// Devices accept a SharedState made elsewhere (by the thread that owns the device, passed to workers as
// its buffer). A buffer too small for the device would fail in confusing ways later; fail here instead.
import { SharedState } from './shared-state.js';

/** Returns the state's words after checking it holds `ownWords` device words besides the lock. */
export function deviceWords(state: SharedState, ownWords: number, device: string): Int32Array {
  if (state.words.length < ownWords + 1) {
    throw new RangeError(`${device}: shared state has ${state.words.length} words, needs ${ownWords + 1}`);
  }
  return state.words;
}

/** Wraps a SharedArrayBuffer received from another thread, or passes a SharedState through. */
export function asSharedState(state: SharedState | SharedArrayBuffer): SharedState {
  return state instanceof SharedState ? state : new SharedState(state);
}
