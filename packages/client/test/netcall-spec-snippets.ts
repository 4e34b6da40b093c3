/* eslint-disable @typescript-eslint/no-unused-vars, @typescript-eslint/no-floating-promises, prefer-const --
   The spec's snippets as they are: its first catch names `err` and logs `error`, its timer is a
   `let`, and it leaves some promises unhandled (a rejection there fails the test as an
   unhandled rejection). */
import type { BeCallingEvent, NetCall, RtcInfo } from '../src/index.ts';

/*
 * The code blocks of specs/netcall-sdk.md, pasted verbatim: this file is in .prettierignore so
 * that they stay as the spec has them, and netcall-spec-snippets.test.ts checks that every line of
 * every block is here, in order. Each block is wrapped in a function that gives it the names it
 * assumes (`netcall`, `type`, `callee`, `this.netcall`, `self`, `netcallInstance`, ...); the test
 * runs them between two users on a real Parley node. Only the wrappers are ours.
 */

/** Where the snippets log (`console.log(...)`): the test reads what they said. */
export type SnippetConsole = Pick<Console, 'log' | 'warn' | 'error'>;

/** The component the spec's startRtc and hangup snippets run in (`this`, `self`). */
export interface SnippetHost {
  netcall: NetCall;
  loginUser: RtcInfo;
}

/**
 * 主叫发起通话请求 and 主叫收到被叫响应回调: calls `callee`, and on the answer starts the media.
 * Returns the spec's `clearCallTimer`, which the spec leaves to the app.
 */
export function callerSnippets(
  netcall: NetCall,
  console: SnippetConsole,
  type: number,
  callee: string,
): () => void {
  // The spec's catch logs `error`, a name its snippet never declares.
  let error: unknown;
netcall
  .call({
    type: type, // 通话类型：1音频，2视频
    callee: callee, // 被叫账号
    forceKeepCalling: true // 持续呼叫
  })
  .then(function() {
    // 成功发起呼叫
    console.log('呼叫成功！')
  })
  .catch(function(err) {
    console.error(error)
  });
// 设置超时计时器
let callTimer = setTimeout(function() {
  // 请在对方处理后，清除呼叫定时器，否则将执行挂断逻辑
  console.log('超时未接听, hangup');
  netcall.hangup();
}, 1000 * 30);
  function clearCallTimer() {
    clearTimeout(callTimer);
  }
// 被叫拒绝的通知
netcall.on('callRejected', function(obj) {
  console.log('被叫拒绝了', obj);
  // 清除呼叫定时器
  clearCallTimer();
  // 清除用户UI逻辑（例如清除呼叫界面）
});

// 被叫接受的通知
netcall.on('callAccepted', function(obj) {
  console.log('on 被叫接听了', obj);
  // 缓存呼叫类型，后面开启音视频连接需要用到
  type = obj.type;
  // 清除呼叫定时器
  clearCallTimer();
  // 开启音视频逻辑
  netcall.startRtc({ mode: 0 })
  .then((obj) => {
    // obj结构 => {uid,account,cid}
    console.log('开启音视频成功', obj)
  })
});
  return clearCallTimer;
}

/** 被叫收到呼叫通知. */
export function beCallingSnippet(netcall: NetCall, console: SnippetConsole): void {
let infoOfBeCalled = null
netcall.on('beCalling', (obj) => {
  console.log('beCalling')
  console.log(obj)
  infoOfBeCalled = obj
})
}

/*
 * The response blocks use the `infoOfBeCalled` that the block above stored. TypeScript cannot
 * type a `let x = null` that only a callback assigns, so the harness hands them the same
 * beCalling object as a parameter of that name.
 */

/** 被叫响应通话请求, 接听: accepts the call that rang, then starts the media. */
export function acceptSnippet(
  netcall: NetCall,
  console: SnippetConsole,
  infoOfBeCalled: BeCallingEvent,
): void {
// 接听

// 告知对方，接听本通通话
netcall.response({
  accepted: true, // 是否接听，true为接听；false为拒绝
  // infoOfBeCalled为前面被叫时传递过来的信息
  caller: infoOfBeCalled.caller, // 本通通话主叫方账号
  type: infoOfBeCalled.type, // 本通通话类型
  cid: infoOfBeCalled.cid // 本通通话房间ID
})
  .then(() => {
    // 开启本端的音视频通话
    netcall.startRtc({ mode: 0 })
      .then((obj) => {
        // obj结构 => {uid,account,cid}
        console.log('开启音视频成功', obj)
      })
  })
  .catch((error) => {
    console.error(error)
  })
}

/** 被叫响应通话请求, 拒绝: declines the call that rang. */
export function rejectSnippet(
  netcall: NetCall,
  console: SnippetConsole,
  infoOfBeCalled: BeCallingEvent,
): void {
// 拒绝

// 告知对方，拒绝本通通话
netcall.response({
  accepted: false,
  // infoOfBeCalled为前面被叫时传递过来的信息
  caller: infoOfBeCalled.caller, 
  type: infoOfBeCalled.type,
  cid: infoOfBeCalled.cid
})
  .then(() => {
    console.log('拒绝成功')
  })
  .catch((error) => {
    console.error(error)
  })
}

/** 呼入的通话已经被该帐号其他端处理. */
export function callerAckSyncSnippet(netcall: NetCall, console: SnippetConsole): void {
netcall.on('callerAckSync', function(obj) {
  console.log('其他端已经处理了本通通话', obj);
});
}

/** 开启音视频通话: starts the media (`mode` is the call's type) and follows who is in it. */
export function startRtcSnippet(
  this: SnippetHost,
  self: SnippetHost,
  console: SnippetConsole,
  type: number,
): void {
const netcall = this.netcall // 音视频操作实例
// 开启音视频逻辑，mode表示加入方式，被叫时可在被叫回调中获取，主叫则自行设定
netcall.startRtc({ mode: type })
  .then((obj) => {
    // {uid,account,cid}
    console.log('开启音视频成功', obj)
    self.loginUser = obj
  })
netcall.on('syncDone', (obj) => {
  // obj => {code,errmsg,userlist:[{account, mode, pusher_secret, scene, uid,url}]}
  console.log('登录成功', obj)
  // 将获取过来的用户数据中的url设置到live-pusher或live-player组件上去
})
netcall.on('clientJoin', (obj) => {
  // obj => {account,cid,mode,uid,url}
  console.log('有用户加入', obj)
  // 将新加入的用户的url设置到live-player组件上去
})
netcall.on('clientLeave', (obj) => {
  // obj => {account,uid,id}
  console.log('有用户加入', obj)
  // 将离开的用户对应的live-player的url去除，并停止拉流
})
}

/** 结束通话. */
export function hangupSnippet(netcallInstance: NetCall, console: SnippetConsole): void {
// 主动挂断方调用此API
netcallInstance.hangup()
  .then(() => {
    console.log('挂断成功')
    // 清除对应的UI逻辑。。。
  })
  .catch((error) => {
    console.error(error)
  })
}

/** 收到对方的挂断通知. */
export function hangupNoticeSnippet(
  this: SnippetHost,
  netcallInstance: NetCall,
  console: SnippetConsole,
): void {
// 对方收到挂断通知
netcallInstance.on('hangup', (obj) => {
  console.log('hangup--对端挂断了', obj)
  // 判断收到的挂断通知是否是本通通话
  if (obj.cid !== this.loginUser.cid) {
    console.warn('非本通通话，抛弃')
    return
  }
  // 清除对应的UI逻辑。。。
})
}
