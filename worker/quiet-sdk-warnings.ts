// The AWS SDK prints a multi-line NodeVersionSupportWarning on Node 20 through
// process.emitWarning; in a process whose stdout/stderr is JSON logs it is noise that breaks
// log parsing. Drop exactly that warning and keep every other one. Import this first.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : warning.message;
  if (text.startsWith('NodeVersionSupportWarning')) return;
  (emitWarning as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
};
