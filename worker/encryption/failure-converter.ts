// Loaded by path inside the workflow sandbox (DataConverter.failureConverterPath): failure
// messages and stack traces go into an encoded attribute, so the codec encrypts them too.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
