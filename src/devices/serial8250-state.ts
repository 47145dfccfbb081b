// The UART's register bits, its shared words (serial8250.ts), and what a snapshot keeps of them.
import { BYTE, FLAG, type WordField } from './saved-state.js';

export const IER_RDI = 0x01;
export const IER_THRI = 0x02;
export const IER_RLSI = 0x04;
export const IER_MSI = 0x08;
export const IER_VALID = 0x0f;

export const IIR_NO_INT = 0x01;
export const IIR_MSI = 0x00;
export const IIR_THRI = 0x02;
export const IIR_RDI = 0x04;
export const IIR_RLSI = 0x06;
export const IIR_RX_TIMEOUT = 0x0c;
export const IIR_FIFO_ENABLED = 0xc0;

export const FCR_ENABLE = 0x01;
export const FCR_CLEAR_RX = 0x02;
export const FCR_DMA = 0x08;
export const FCR_TRIGGER = 0xc0;
export const TRIGGER_LEVELS = [1, 4, 8, 14];

export const LCR_DLAB = 0x80;

export const MCR_DTR = 0x01;
export const MCR_RTS = 0x02;
export const MCR_OUT1 = 0x04;
export const MCR_OUT2 = 0x08;
export const MCR_LOOP = 0x10;
export const MCR_VALID = 0x1f;

export const LSR_DR = 0x01;
export const LSR_OE = 0x02;
export const LSR_ERRORS = 0x1e; // OE, PE, FE, BI: sticky until LSR is read
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;

export const MSR_DCTS = 0x01;
export const MSR_DDSR = 0x02;
export const MSR_TERI = 0x04;
export const MSR_DDCD = 0x08;
export const MSR_DELTAS = 0x0f;
export const MSR_CTS = 0x10;
export const MSR_DSR = 0x20;
export const MSR_RI = 0x40;
export const MSR_DCD = 0x80;
/** Lines seen from the host side: carrier, DSR and CTS up, so getty and Linux's CLOCAL-less opens proceed. */
export const EXTERNAL_LINES = MSR_DCD | MSR_DSR | MSR_CTS;


export const FIFO_SIZE = 16;

// Shared words (0 is the lock).
export const W_IER = 1;
export const W_LCR = 2;
export const W_MCR = 3;
export const W_LSR_ERRORS = 4;
export const W_MSR = 5;
export const W_SCR = 6;
export const W_DLL = 7;
export const W_DLM = 8;
export const W_FCR = 9;
export const W_THRE_PENDING = 10;
export const W_RX_HEAD = 11;
export const W_RX_COUNT = 12;
export const W_IRQ_LEVEL = 13;
/** bumped (and notified) whenever room may have appeared in the receive FIFO */
export const W_RX_SPACE_SEQ = 14;
export const W_RX_FIFO = 15;
export const OWN_WORDS = W_RX_FIFO + FIFO_SIZE - 1;

/** Saved fields, version 1: the registers and the receive FIFO; not the lock, irq level or wake-up sequence. */
export const SERIAL_STATE_VERSION = 1;
export const SERIAL_FIELDS: readonly WordField[] = [
  { name: 'ier', index: W_IER, min: 0, max: 0x0f },
  { name: 'lcr', index: W_LCR, ...BYTE },
  { name: 'mcr', index: W_MCR, min: 0, max: 0x1f },
  { name: 'lsrErrors', index: W_LSR_ERRORS, min: 0, max: 0x1e },
  { name: 'msr', index: W_MSR, ...BYTE },
  { name: 'scr', index: W_SCR, ...BYTE },
  { name: 'dll', index: W_DLL, ...BYTE },
  { name: 'dlm', index: W_DLM, ...BYTE },
  { name: 'fcr', index: W_FCR, ...BYTE },
  { name: 'threPending', index: W_THRE_PENDING, ...FLAG },
  { name: 'rxHead', index: W_RX_HEAD, min: 0, max: FIFO_SIZE - 1 },
  { name: 'rxCount', index: W_RX_COUNT, min: 0, max: FIFO_SIZE },
  { name: 'rxFifo', index: W_RX_FIFO, length: FIFO_SIZE, ...BYTE },
];
