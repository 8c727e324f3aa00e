import { parseConversationId, privateConversationId } from '../../src/modules/messages/conversation-id';
import { contentProblems, contentView, normaliseContent } from '../../src/modules/messages/messages.content';

describe('conversation ids', () => {
  it('orders private ids as numbers, not strings', () => {
    expect(privateConversationId('9', '10')).toBe('p:9:10');
    expect(privateConversationId('10', '9')).toBe('p:9:10');
    expect(parseConversationId('p:9:10')).toEqual({ kind: 'private', id: 'p:9:10', userIds: ['9', '10'] });
  });

  it.each(['p:10:9', 'p:5:5', 'p:05:6', 'p:1', 'g:', 'g:0', 'g:abc', 'w:other', 'x:1', ''])(
    'refuses %p',
    (cid) => {
      expect(parseConversationId(cid)).toBeNull();
    },
  );

  it('parses group and world ids', () => {
    expect(parseConversationId('g:42')).toEqual({ kind: 'group', id: 'g:42', groupId: '42' });
    expect(parseConversationId('w:world')).toEqual({ kind: 'world', id: 'w:world' });
  });
});

describe('message content rules', () => {
  it('accepts the shapes of the contract, optional fields null or absent', () => {
    expect(contentProblems('text', { text: 'hi' })).toEqual([]);
    expect(contentProblems('image', { url: 'https://e.com/a.png', width: null })).toEqual([]);
    expect(contentProblems('file', { url: 'http://10.0.0.1:8080/f', name: 'f', size: 0 })).toEqual([]);
    expect(contentProblems('location', { latitude: 90, longitude: -180 })).toEqual([]);
    expect(contentProblems('emoji', { code: 'wave' })).toEqual([]);
  });

  it('names each problem', () => {
    expect(contentProblems('image', { url: 'data:image/png;base64,AAAA' })).toEqual([
      'url: must be an http or https URL',
    ]);
    expect(contentProblems('image', { url: 'https://e.com/a b.png' })).toEqual([
      'url: must be an http or https URL',
    ]);
    expect(contentProblems('voice', { url: 'https://e.com/a.ogg', duration: Infinity })).toEqual([
      'duration: must be a number from 0 to 86400',
    ]);
    expect(contentProblems('image', { url: 'https://e.com/a.png', width: 1.5 })).toEqual([
      'width: must be an integer from 1 to 100000',
    ]);
    expect(
      contentProblems('file', { url: 'https://e.com/f', name: 'f', size: 1, mime: 'not a mime' }),
    ).toEqual(['mime: must be a MIME type']);
    expect(contentProblems('text', { text: 'x', extra: 1 })).toEqual(['extra: unknown field for type text']);
    expect(contentProblems('emoji', {})).toEqual(['content: needs exactly one of code or url']);
    expect(contentProblems('text', ['x'])).toEqual(['content: must be an object']);
  });

  it('keeps every field of the shape, absent or null ones as null', () => {
    expect(normaliseContent('image', { url: 'https://e.com/a.png', width: null, height: 2 })).toEqual({
      url: 'https://e.com/a.png',
      width: null,
      height: 2,
      size: null,
      mime: null,
      uploadId: null,
    });
    expect(normaliseContent('text', { text: 'hi' })).toEqual({ text: 'hi' });
    expect(normaliseContent('voice', { url: 'https://e.com/a.ogg', duration: 0 })).toEqual({
      url: 'https://e.com/a.ogg',
      duration: 0,
      size: null,
      uploadId: null,
    });
    expect(normaliseContent('video', { url: 'https://e.com/v.mp4' })).toEqual({
      url: 'https://e.com/v.mp4',
      duration: null,
      width: null,
      height: null,
      size: null,
      thumbUrl: null,
      uploadId: null,
    });
    expect(normaliseContent('file', { url: 'https://e.com/f', name: 'f', size: 0 })).toEqual({
      url: 'https://e.com/f',
      name: 'f',
      size: 0,
      mime: null,
      uploadId: null,
    });
    expect(normaliseContent('location', { latitude: 0, longitude: 0 })).toEqual({
      latitude: 0,
      longitude: 0,
      label: null,
    });
    expect(normaliseContent('emoji', { code: 'wave' })).toEqual({ code: 'wave', url: null });
    expect(normaliseContent('emoji', { url: 'https://e.com/s.gif' })).toEqual({
      code: null,
      url: 'https://e.com/s.gif',
    });
  });

  it('completes stored content that lacks fields, and returns complete content as it is', () => {
    const complete = {
      url: 'https://e.com/a.png',
      width: 1,
      height: null,
      size: null,
      mime: null,
      uploadId: null,
    };
    expect(contentView('image', complete)).toBe(complete);
    expect(contentView('image', { url: 'https://e.com/a.png', width: 1 })).toEqual(complete);
    expect(contentView('emoji', { code: 'wave' })).toEqual({ code: 'wave', url: null });
    expect(contentView('text', null)).toBeNull();
  });
});
