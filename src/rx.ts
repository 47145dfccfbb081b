// The RxJS that nodevmm uses, imported module by module. `import … from 'rxjs'` loads all of RxJS's
// CommonJS build (251 files): 45–100 ms of every start here, a fifth of a whole 1-exit run. These are
// the same modules the package index re-exports, so the classes are the ones a user's `rxjs` has.
export { Observable } from 'rxjs/internal/Observable';
export { Subject } from 'rxjs/internal/Subject';
export { BehaviorSubject } from 'rxjs/internal/BehaviorSubject';
export { ReplaySubject } from 'rxjs/internal/ReplaySubject';
export { from } from 'rxjs/internal/observable/from';
export { merge } from 'rxjs/internal/observable/merge';
export { filter } from 'rxjs/internal/operators/filter';
export { tap } from 'rxjs/internal/operators/tap';
export { map } from 'rxjs/internal/operators/map';
export { mergeMap } from 'rxjs/internal/operators/mergeMap';
export { scan } from 'rxjs/internal/operators/scan';
export { share } from 'rxjs/internal/operators/share';
export type { OperatorFunction, Subscription } from 'rxjs';
