import {
  historyRules,
  readFrameRules,
  readRules,
  sendRules,
  typingFrameRules,
} from '../../src/modules/messages/messages.validation';
import { checkBody, checkRules, MAX_DETAILS, type RuleSet } from '../../src/shared/validation';

// The messages rule sets are the one definition REST and WS share. These tables pin what they answer, field
// by field, for the awkward inputs (recorded from the express-validator chains they replace, which answered
// the same; the one difference: fields named like Object.prototype members, such as `constructor` or
// `__proto__`, are now refused as unknown fields, which those chains let through).

/** null: accepted; NOT_OBJECT: the body is no JSON object; else the [field, message] details in order. */
type Answer = null | 'NOT_OBJECT' | Array<[string, string]>;
const NOT_OBJECT = 'NOT_OBJECT';

function answerOf(rules: RuleSet, subject: { body?: unknown; params?: object; query?: object }): Answer {
  try {
    checkRules(subject as Parameters<typeof checkRules>[0], rules);
    return null;
  } catch (err) {
    const e = err as { code: string; message: string; details: Array<{ field: string; message: string }> };
    expect(e.code).toBe('VALIDATION_FAILED');
    if (e.message === 'Request body must be a JSON object') return NOT_OBJECT;
    expect(e.message).toBe('Request validation failed');
    return e.details.map((d) => [d.field, d.message]);
  }
}

const valid = { conversationId: 'p:1:2', type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1' };

const sendCases: Array<[unknown, Answer]> = [
  [{ conversationId: 'p:1:2', type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1' }, null],
  [
    { conversationId: 'g:5', type: 'image', content: { url: 'https://x.test/a.png' }, clientMsgId: 'c-1' },
    null,
  ],
  [
    {
      conversationId: 'w:world',
      type: 'location',
      content: { latitude: 1, longitude: 2, label: null },
      clientMsgId: 'c-1',
    },
    null,
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1', extra: 1 },
    [['extra', 'unknown field']],
  ],
  [
    { conversationId: 'p:1:2', type: 'nope', content: { text: 'hi' }, clientMsgId: 'c-1' },
    [['type', 'must be one of text, image, voice, video, file, location, emoji']],
  ],
  [
    { conversationId: 'p:1:2', type: 'nope', content: 'x', clientMsgId: 'c-1' },
    [['type', 'must be one of text, image, voice, video, file, location, emoji']],
  ],
  [
    { conversationId: 'p:1:2', type: ['text'], content: { text: 'hi' }, clientMsgId: 'c-1' },
    [['type', 'must be a string']],
  ],
  [
    { conversationId: 'p:1:2', type: 5, content: { text: 'hi' }, clientMsgId: 'c-1' },
    [['type', 'must be a string']],
  ],
  [
    { conversationId: 'p:1:2', type: null, content: { text: 'hi' }, clientMsgId: 'c-1' },
    [['type', 'is required']],
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: { text: '' }, clientMsgId: 'c-1' },
    [['content', 'text: must be 1-4000 characters']],
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: { text: '   ' }, clientMsgId: 'c-1' },
    [['content', 'text: must not be blank']],
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: { text: 5 }, clientMsgId: 'c-1' },
    [['content', 'text: must be a string']],
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: null, clientMsgId: 'c-1' },
    [['content', 'is required']],
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: 'hi', clientMsgId: 'c-1' },
    [['content', 'content: must be an object']],
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: ['hi'], clientMsgId: 'c-1' },
    [['content', 'content: must be an object']],
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: {}, clientMsgId: 'c-1' },
    [['content', 'text: is required']],
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: { text: 'hi', more: true }, clientMsgId: 'c-1' },
    [['content', 'more: unknown field for type text']],
  ],
  [
    {
      conversationId: 'p:1:2',
      type: 'emoji',
      content: { code: 'x', url: 'https://x.test/s.png' },
      clientMsgId: 'c-1',
    },
    [['content', 'content: needs exactly one of code or url']],
  ],
  [
    {
      conversationId: 'p:1:2',
      type: 'file',
      content: { uploadId: '0123456789abcdef0123456789abcdef' },
      clientMsgId: 'c-1',
    },
    null,
  ],
  [
    { conversationId: 'p:1:2', type: 'voice', content: { url: 'ftp://x', duration: -1 }, clientMsgId: 'c-1' },
    [['content', 'url: must be an http or https URL; duration: must be a number from 0 to 86400']],
  ],
  [
    {
      conversationId: 'p:1:2',
      type: 'text',
      content: { text: 'hi' },
      clientMsgId: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
    },
    [['clientMsgId', 'must be 1-64 characters of A-Z a-z 0-9 _ . : -']],
  ],
  [
    {
      conversationId: 'p:1:2',
      type: 'text',
      content: { text: 'hi' },
      clientMsgId: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
    },
    null,
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: { text: 'hi' }, clientMsgId: '' },
    [['clientMsgId', 'must be 1-64 characters of A-Z a-z 0-9 _ . : -']],
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: { text: 'hi' }, clientMsgId: 'a b' },
    [['clientMsgId', 'must be 1-64 characters of A-Z a-z 0-9 _ . : -']],
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: { text: 'hi' }, clientMsgId: 5 },
    [['clientMsgId', 'must be a string']],
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: { text: 'hi' }, clientMsgId: ['c-1'] },
    [['clientMsgId', 'must be a string']],
  ],
  [
    { conversationId: 'p:1', type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1' },
    [['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world']],
  ],
  [{ conversationId: 'p:2:1', type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1' }, null],
  [
    { conversationId: 5, type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1' },
    [['conversationId', 'must be a string']],
  ],
  [
    { conversationId: ['p:1:2'], type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1' },
    [['conversationId', 'must be a string']],
  ],
  [
    { conversationId: {}, type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1' },
    [['conversationId', 'must be a string']],
  ],
  [
    { conversationId: null, type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1' },
    [['conversationId', 'is required']],
  ],
  [
    { conversationId: '', type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1' },
    [['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world']],
  ],
  [
    { conversationId: "p:1:2' OR 1=1", type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1' },
    [['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world']],
  ],
  [{ conversationId: 'p:1:2', type: 'text', content: { text: 'hi' } }, [['clientMsgId', 'is required']]],
  [
    { type: 'text' },
    [
      ['conversationId', 'is required'],
      ['content', 'is required'],
      ['clientMsgId', 'is required'],
    ],
  ],
  [
    {},
    [
      ['conversationId', 'is required'],
      ['type', 'is required'],
      ['content', 'is required'],
      ['clientMsgId', 'is required'],
    ],
  ],
  [
    { conversationId: 1, type: 2, content: null, clientMsgId: [], zz: 1, aa: 2 },
    [
      ['conversationId', 'must be a string'],
      ['type', 'must be a string'],
      ['content', 'is required'],
      ['clientMsgId', 'must be a string'],
      ['zz', 'unknown field'],
      ['aa', 'unknown field'],
    ],
  ],
  [
    {
      '0': 2,
      '12': 3,
      conversationId: 'p:1:2',
      type: 'text',
      content: { text: 'hi' },
      clientMsgId: 'c-1',
      'a.b': 1,
      '*': 4,
      'x y': 5,
    },
    [
      ['[0]', 'unknown field'],
      ['[12]', 'unknown field'],
      ['["a.b"]', 'unknown field'],
      ['*', 'unknown field'],
      ['x y', 'unknown field'],
    ],
  ],
  [
    JSON.parse(
      '{"conversationId":"p:1:2","type":"text","content":{"text":"hi"},"clientMsgId":"c-1","__proto__":{"a":1}}',
    ),
    [['__proto__', 'unknown field']],
  ],
  [
    JSON.parse(
      '{"conversationId":"p:1:2","type":"text","content":{"text":"hi"},"clientMsgId":"c-1","__proto__":1}',
    ),
    [['__proto__', 'unknown field']],
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1', constructor: 1 },
    [['constructor', 'unknown field']],
  ],
  [
    { conversationId: 'p:1:2', type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1', toString: 'x' },
    [['toString', 'unknown field']],
  ],
  [
    {
      conversationId: 'p:1:2',
      type: 'text',
      content: { text: 'hi' },
      clientMsgId: 'c-1',
      hasOwnProperty: { a: 1 },
    },
    [['hasOwnProperty', 'unknown field']],
  ],
  [[{ conversationId: 'p:1:2', type: 'text', content: { text: 'hi' }, clientMsgId: 'c-1' }], NOT_OBJECT],
  [[], NOT_OBJECT],
  [
    null,
    [
      ['conversationId', 'is required'],
      ['type', 'is required'],
      ['content', 'is required'],
      ['clientMsgId', 'is required'],
    ],
  ],
  [
    undefined,
    [
      ['conversationId', 'is required'],
      ['type', 'is required'],
      ['content', 'is required'],
      ['clientMsgId', 'is required'],
    ],
  ],
  ['text', NOT_OBJECT],
  [5, NOT_OBJECT],
];
const historyCases: Array<[string, Record<string, unknown>, unknown, Answer]> = [
  ['p:1:2', {}, undefined, null],
  ['p:1:2', { limit: '20' }, undefined, null],
  ['p:1:2', { beforeSeq: '100', limit: '100' }, undefined, null],
  ['p:1:2', { afterSeq: '0' }, undefined, null],
  [
    'p:1:2',
    { afterSeq: '0', beforeSeq: '5' },
    undefined,
    [['afterSeq', 'give beforeSeq or afterSeq, not both']],
  ],
  ['p:1:2', { afterSeq: 'x', beforeSeq: '5' }, undefined, [['afterSeq', 'must be an integer >= 0']]],
  [
    'p:1:2',
    { afterSeq: '-1', beforeSeq: 'y' },
    undefined,
    [
      ['beforeSeq', 'must be an integer >= 1'],
      ['afterSeq', 'must be an integer >= 0'],
    ],
  ],
  ['p:1:2', { beforeSeq: '0' }, undefined, [['beforeSeq', 'must be an integer >= 1']]],
  ['p:1:2', { beforeSeq: '-1' }, undefined, [['beforeSeq', 'must be an integer >= 1']]],
  ['p:1:2', { beforeSeq: '+5' }, undefined, null],
  ['p:1:2', { beforeSeq: '05' }, undefined, null],
  ['p:1:2', { beforeSeq: '-0' }, undefined, [['beforeSeq', 'must be an integer >= 1']]],
  ['p:1:2', { afterSeq: '-0' }, undefined, null],
  ['p:1:2', { afterSeq: '+0' }, undefined, null],
  ['p:1:2', { beforeSeq: '1.5' }, undefined, [['beforeSeq', 'must be an integer >= 1']]],
  ['p:1:2', { beforeSeq: '1e2' }, undefined, [['beforeSeq', 'must be an integer >= 1']]],
  ['p:1:2', { beforeSeq: ' 5' }, undefined, [['beforeSeq', 'must be an integer >= 1']]],
  ['p:1:2', { beforeSeq: '0x10' }, undefined, [['beforeSeq', 'must be an integer >= 1']]],
  ['p:1:2', { beforeSeq: '9007199254740992' }, undefined, [['beforeSeq', 'must be an integer >= 1']]],
  ['p:1:2', { beforeSeq: '9007199254740991' }, undefined, null],
  ['p:1:2', { beforeSeq: '00009007199254740991' }, undefined, null],
  ['p:1:2', { beforeSeq: '99999999999999999999999' }, undefined, [['beforeSeq', 'must be an integer >= 1']]],
  ['p:1:2', { beforeSeq: ['1', '2'] }, undefined, [['beforeSeq', 'must be an integer >= 1']]],
  ['p:1:2', { beforeSeq: ['1'] }, undefined, [['beforeSeq', 'must be an integer >= 1']]],
  ['p:1:2', { limit: ['1', '2'] }, undefined, [['limit', 'must be an integer from 1 to 100']]],
  ['p:1:2', { limit: '0' }, undefined, [['limit', 'must be an integer from 1 to 100']]],
  ['p:1:2', { limit: '101' }, undefined, [['limit', 'must be an integer from 1 to 100']]],
  ['p:1:2', { limit: '100' }, undefined, null],
  ['p:1:2', { limit: '' }, undefined, [['limit', 'must be an integer from 1 to 100']]],
  ['p:1:2', { limit: '+7' }, undefined, null],
  ['p:1:2', { limit: '007' }, undefined, null],
  ['p:1:2', { other: 'x' }, undefined, null],
  [
    'p:1:2',
    { beforeSeq: '', afterSeq: '' },
    undefined,
    [
      ['beforeSeq', 'must be an integer >= 1'],
      ['afterSeq', 'must be an integer >= 0'],
    ],
  ],
  ['x:1', { afterSeq: '0' }, undefined, [['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world']]],
  [
    'x:1',
    { beforeSeq: '-1' },
    undefined,
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['beforeSeq', 'must be an integer >= 1'],
    ],
  ],
  ['x:1', { afterSeq: '+0' }, undefined, [['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world']]],
  [
    'x:1',
    { beforeSeq: '9007199254740992' },
    undefined,
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['beforeSeq', 'must be an integer >= 1'],
    ],
  ],
  [
    'x:1',
    { beforeSeq: ['1'] },
    undefined,
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['beforeSeq', 'must be an integer >= 1'],
    ],
  ],
  [
    'x:1',
    { limit: '' },
    undefined,
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['limit', 'must be an integer from 1 to 100'],
    ],
  ],
  ['p:1:2', {}, undefined, null],
  [
    'x',
    { limit: '0' },
    undefined,
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['limit', 'must be an integer from 1 to 100'],
    ],
  ],
  ['p:1:2', {}, null, null],
  [
    'x',
    { limit: '0' },
    null,
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['limit', 'must be an integer from 1 to 100'],
    ],
  ],
  ['p:1:2', {}, {}, null],
  [
    'x',
    { limit: '0' },
    {},
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['limit', 'must be an integer from 1 to 100'],
    ],
  ],
  ['p:1:2', {}, { x: 1 }, [['x', 'unknown field']]],
  [
    'x',
    { limit: '0' },
    { x: 1 },
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['limit', 'must be an integer from 1 to 100'],
      ['x', 'unknown field'],
    ],
  ],
  [
    'p:1:2',
    {},
    { a: 1, b: 2 },
    [
      ['a', 'unknown field'],
      ['b', 'unknown field'],
    ],
  ],
  [
    'x',
    { limit: '0' },
    { a: 1, b: 2 },
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['limit', 'must be an integer from 1 to 100'],
      ['a', 'unknown field'],
      ['b', 'unknown field'],
    ],
  ],
  ['p:1:2', {}, [], NOT_OBJECT],
  ['x', { limit: '0' }, [], NOT_OBJECT],
  ['p:1:2', {}, [1], NOT_OBJECT],
  ['x', { limit: '0' }, [1], NOT_OBJECT],
  ['p:1:2', {}, 'x', NOT_OBJECT],
  ['x', { limit: '0' }, 'x', NOT_OBJECT],
  ['p:1:2', {}, 5, NOT_OBJECT],
  ['x', { limit: '0' }, 5, NOT_OBJECT],
];
const readFrameCases: Array<[unknown, Answer]> = [
  [{ conversationId: 'p:1:2', seq: 0 }, null],
  [
    { conversationId: 'nope', seq: 0 },
    [['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world']],
  ],
  [{ conversationId: 'p:1:2', seq: 5 }, null],
  [
    { conversationId: 'nope', seq: 5 },
    [['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world']],
  ],
  [{ conversationId: 'p:1:2', seq: 9007199254740991 }, null],
  [
    { conversationId: 'nope', seq: 9007199254740991 },
    [['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world']],
  ],
  [{ conversationId: 'p:1:2', seq: 9007199254740992 }, [['seq', 'must be an integer >= 0']]],
  [
    { conversationId: 'nope', seq: 9007199254740992 },
    [
      ['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  [{ conversationId: 'p:1:2', seq: -1 }, [['seq', 'must be an integer >= 0']]],
  [
    { conversationId: 'nope', seq: -1 },
    [
      ['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  [{ conversationId: 'p:1:2', seq: 1.5 }, [['seq', 'must be an integer >= 0']]],
  [
    { conversationId: 'nope', seq: 1.5 },
    [
      ['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  [{ conversationId: 'p:1:2', seq: '5' }, [['seq', 'must be an integer >= 0']]],
  [
    { conversationId: 'nope', seq: '5' },
    [
      ['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  [{ conversationId: 'p:1:2', seq: null }, [['seq', 'is required']]],
  [
    { conversationId: 'nope', seq: null },
    [
      ['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'is required'],
    ],
  ],
  [{ conversationId: 'p:1:2' }, [['seq', 'is required']]],
  [
    { conversationId: 'nope' },
    [
      ['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'is required'],
    ],
  ],
  [{ conversationId: 'p:1:2', seq: true }, [['seq', 'must be an integer >= 0']]],
  [
    { conversationId: 'nope', seq: true },
    [
      ['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  [{ conversationId: 'p:1:2', seq: [5] }, [['seq', 'must be an integer >= 0']]],
  [
    { conversationId: 'nope', seq: [5] },
    [
      ['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  [{ conversationId: 'p:1:2', seq: {} }, [['seq', 'must be an integer >= 0']]],
  [
    { conversationId: 'nope', seq: {} },
    [
      ['conversationId', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  [{ conversationId: 'p:1:2', seq: 1, extra: true }, [['extra', 'unknown field']]],
  [
    null,
    [
      ['conversationId', 'is required'],
      ['seq', 'is required'],
    ],
  ],
  [
    undefined,
    [
      ['conversationId', 'is required'],
      ['seq', 'is required'],
    ],
  ],
  [[], NOT_OBJECT],
  ['x', NOT_OBJECT],
  [
    {},
    [
      ['conversationId', 'is required'],
      ['seq', 'is required'],
    ],
  ],
];
const typingFrameCases: Array<[unknown, Answer]> = [
  [{ conversationId: 'p:1:2' }, null],
  [{ conversationId: 'g:1' }, null],
  [{ conversationId: 5 }, [['conversationId', 'must be a string']]],
  [{ conversationId: null }, [['conversationId', 'is required']]],
  [{}, [['conversationId', 'is required']]],
  [{ conversationId: 'p:1:2', typing: true }, [['typing', 'unknown field']]],
  [null, [['conversationId', 'is required']]],
  [undefined, [['conversationId', 'is required']]],
  [[], NOT_OBJECT],
  ['x', NOT_OBJECT],
];
const readCases: Array<[string, unknown, Answer]> = [
  ['p:1:2', { seq: 0 }, null],
  ['p:1:2', { seq: 5 }, null],
  ['p:1:2', { seq: 9007199254740991 }, null],
  ['p:1:2', { seq: 9007199254740992 }, [['seq', 'must be an integer >= 0']]],
  ['p:1:2', { seq: -1 }, [['seq', 'must be an integer >= 0']]],
  ['p:1:2', { seq: 1.5 }, [['seq', 'must be an integer >= 0']]],
  ['p:1:2', { seq: '5' }, [['seq', 'must be an integer >= 0']]],
  ['p:1:2', { seq: null }, [['seq', 'is required']]],
  ['p:1:2', {}, [['seq', 'is required']]],
  ['p:1:2', { seq: true }, [['seq', 'must be an integer >= 0']]],
  ['p:1:2', { seq: [5] }, [['seq', 'must be an integer >= 0']]],
  ['p:1:2', { seq: {} }, [['seq', 'must be an integer >= 0']]],
  ['bad', { seq: 0 }, [['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world']]],
  ['bad', { seq: 5 }, [['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world']]],
  ['bad', { seq: 9007199254740991 }, [['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world']]],
  [
    'bad',
    { seq: 9007199254740992 },
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  [
    'bad',
    { seq: -1 },
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  [
    'bad',
    { seq: 1.5 },
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  [
    'bad',
    { seq: '5' },
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  [
    'bad',
    { seq: null },
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'is required'],
    ],
  ],
  [
    'bad',
    {},
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'is required'],
    ],
  ],
  [
    'bad',
    { seq: true },
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  [
    'bad',
    { seq: [5] },
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  [
    'bad',
    { seq: {} },
    [
      ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ['seq', 'must be an integer >= 0'],
    ],
  ],
  ['p:1:2', { seq: 1, x: 2 }, [['x', 'unknown field']]],
  ['p:1:2', undefined, [['seq', 'is required']]],
  ['p:1:2', [], NOT_OBJECT],
];

describe('sendRules (REST POST /api/v1/messages and WS send)', () => {
  it.each(sendCases)('answers %j with %j', (data, answer) => {
    expect(answerOf(sendRules, { body: structuredClone(data) })).toEqual(answer);
  });

  // 4000 code points of text, as the database and every other limit count, whatever their UTF-16 length.
  it.each([
    ['emoji', '😀'],
    ['variation selectors', '\uFE0F'],
    ['combining marks', '\u0301'],
    ['surrogate pairs', '𝒜'],
  ])('counts %s in code points: 4000 pass, 4001 do not', (_label, unit) => {
    const text = (n: number) => ({ ...valid, content: { text: `a${unit.repeat(n - 1)}` } });
    expect(answerOf(sendRules, { body: text(4000) })).toBeNull();
    expect(answerOf(sendRules, { body: text(4001) })).toEqual([
      ['content', 'text: must be 1-4000 characters'],
    ]);
  });

  it(`lists the field problems first, then unknown fields, at most ${MAX_DETAILS}`, () => {
    const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`f${i}`, i]));
    const answer = answerOf(sendRules, { body: many }) as Array<[string, string]>;
    expect(answer).toHaveLength(MAX_DETAILS);
    expect(answer.slice(0, 5)).toEqual([
      ['conversationId', 'is required'],
      ['type', 'is required'],
      ['content', 'is required'],
      ['clientMsgId', 'is required'],
      ['f0', 'unknown field'],
    ]);
    expect(answer[MAX_DETAILS - 1]).toEqual(['f45', 'unknown field']);
    expect(answerOf(sendRules, { body: { ...valid, ...many } })).toHaveLength(MAX_DETAILS);
  });

  it('hands back the data it checked, an absent body as {}', () => {
    expect(checkBody(sendRules, valid)).toBe(valid);
    const subject: { body?: unknown } = {};
    expect(answerOf(typingFrameRules, subject)).toEqual([['conversationId', 'is required']]);
    expect(subject.body).toEqual({});
  });
});

describe('historyRules (GET /api/v1/conversations/:cid/messages)', () => {
  it.each(historyCases)('answers %s %j with body %j: %j', (cid, query, body, answer) => {
    expect(answerOf(historyRules, { params: { cid }, query, body: structuredClone(body) })).toEqual(answer);
  });

  it('accepts every form of conversation id and refuses the rest', () => {
    for (const cid of ['p:12:40', 'g:9', 'w:world'])
      expect(answerOf(historyRules, { params: { cid }, query: {} })).toBeNull();
    for (const cid of ['p:0:2', 'x:1', "p:1:2' OR 1=1", '', 'g:01']) {
      expect(answerOf(historyRules, { params: { cid }, query: {} })).toEqual([
        ['cid', 'must be p:<userId>:<userId>, g:<groupId> or w:world'],
      ]);
    }
  });
});

describe('readRules (POST /api/v1/conversations/:cid/read)', () => {
  it.each(readCases)('answers %s %j with %j', (cid, body, answer) => {
    expect(answerOf(readRules, { params: { cid }, body: structuredClone(body) })).toEqual(answer);
  });
});

describe('readFrameRules (WS read)', () => {
  it.each(readFrameCases)('answers %j with %j', (data, answer) => {
    expect(answerOf(readFrameRules, { body: structuredClone(data) })).toEqual(answer);
  });
});

describe('typingFrameRules (WS typing)', () => {
  it.each(typingFrameCases)('answers %j with %j', (data, answer) => {
    expect(answerOf(typingFrameRules, { body: structuredClone(data) })).toEqual(answer);
  });
});
